// The practice room: sends the rep's turns (typed or recorded), streams the customer's reply as
// server-sent events over fetch(), keeps the frustration meter and timer current, and speaks the
// customer's lines in voice mode. Everything shown is inserted as text, never as HTML.
(() => {
  const runner = document.querySelector("[data-runner]");
  if (!runner) return;

  const chat = document.getElementById("chat");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const retry = document.getElementById("retry");
  const meter = document.getElementById("frustration");
  const meterValue = document.getElementById("frustration-value");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const customerName = runner.querySelector(".runner-head .muted").textContent.replace(/^with /, "").split(" · ")[0];
  const voiceMode = runner.dataset.mode === "voice";
  const frustrationNews = document.getElementById("frustration-news");
  let busy = false;
  // The control the rep last sent from (the reply box, or the talk button in voice mode): focus goes
  // back there when the customer has answered, so keyboard and screen-reader users keep their place.
  let sentFrom = input;

  function bubble(speaker, text) {
    const item = document.createElement("li");
    item.className = `bubble bubble-${speaker}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = speaker === "rep" ? "You" : customerName;
    const body = document.createElement("p");
    body.textContent = text;
    item.append(who, body);
    chat.append(item);
    item.scrollIntoView({ block: "end", behavior: "smooth" });
    return body;
  }

  function setBusy(value, message = "") {
    busy = value;
    send.disabled = value;
    input.disabled = value;
    status.textContent = message;
    if (!value && !form.hidden) (sentFrom && !sentFrom.disabled ? sentFrom : input).focus();
  }

  function setFrustration(value) {
    if (!meter || typeof value !== "number") return;
    const before = Number(meter.value);
    meter.value = value;
    meterValue.textContent = value;
    if (frustrationNews && value !== before) {
      const change = value > before ? `up ${value - before}` : `down ${before - value}`;
      frustrationNews.textContent = `Customer frustration ${value} out of 100, ${change}.`;
    }
  }

  function speak(text) {
    if (!voiceMode || !("speechSynthesis" in window)) return;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  }

  function ended(endReason, resultsUrl) {
    const labels = { resolved: "Resolved", escalated: "The customer escalated", timed_out: "Time's up", rep_ended: "Ended" };
    // No automatic redirect: it would cut off the reading of the customer's last line. The rep
    // opens the results when ready (focus moves to the link, so Enter opens them).
    form.hidden = true;
    setBusy(true, `${labels[endReason] || "Session ended"}. Your results are ready.`);
    const link = document.getElementById("results-link");
    link.href = resultsUrl || runner.dataset.resultsUrl;
    link.hidden = false;
    const end = runner.querySelector(".end-form");
    if (end) end.hidden = true;
    link.focus({ preventScroll: true });
  }

  // A refusal the server answered with a page or JSON instead of events (too large a request, a
  // proxy's error): say what happened; the line was not saved and stays in the box.
  async function refusal(response) {
    let message = "";
    try {
      const payload = await response.clone().json();
      message = (payload.error && payload.error.message) || "";
    } catch (error) { /* not JSON */ }
    if (!message) {
      if (response.status === 400 || response.status === 413) message = "Your message was not saved: it is too large to send. Shorten it and send again.";
      else if (response.status === 429) message = "Your message was not saved: you're sending faster than the practice room allows. Wait a moment and send again.";
      else if (response.status === 403 || response.status === 404) message = "Your message was not saved: this session can't take messages any more. Reload the page.";
      else message = `Your message was not saved: the server answered with error ${response.status}. Send it again.`;
    } else {
      message = `Your message was not saved: ${message}`;
    }
    return message;
  }

  async function stream(url, body) {
    setBusy(true, `${customerName} is typing…`);
    retry.hidden = true;
    let reply = null;
    let text = "";
    let saved = url === runner.dataset.retryUrl;  // a retry answers a line that is already saved
    let response;
    try {
      response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "text/event-stream" },
      });
    } catch (error) {
      setBusy(false, "Connection lost. Your message may not have been sent: check and try again.");
      return;
    }
    if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      setBusy(false, await refusal(response));
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const handle = (event, data) => {
      if (event === "transcript") {
        status.textContent = "";
      } else if (event === "saved") {
        bubble("rep", data.turn.text).parentElement.id = `turn-${data.turn.index}`;
        saved = true;
        input.value = "";
      } else if (event === "delta") {
        if (!reply) reply = bubble("customer", "");
        text += data.text;
        reply.textContent = text;
      } else if (event === "done") {
        if (!reply) reply = bubble("customer", "");
        reply.textContent = data.turn.text;
        reply.parentElement.id = `turn-${data.turn.index}`;
        setFrustration(data.turn.frustration);
        speak(data.turn.text);
        if (data.status === "ended") ended(data.end_reason, data.results_url);
        else setBusy(false);
      } else if (event === "error") {
        if (reply) reply.parentElement.remove();
        // A refused line was never saved: it stays in the box and there is nothing to retry.
        const note = saved ? data.message : `Your message was not saved: ${data.message}`;
        setBusy(false, note);
        retry.hidden = !(saved && data.retry) && data.code !== "reply_pending";
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      let split;
      while ((split = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const event = (raw.match(/^event: (.*)$/m) || [])[1];
        const data = (raw.match(/^data: (.*)$/m) || [])[1];
        if (event && data) handle(event, JSON.parse(data));
      }
      if (done) break;
    }
    if (busy && !form.hidden) {
      // The stream closed without a final event (a dropped connection).
      if (saved) {
        setBusy(false, "The reply was interrupted. Your message is saved: press “Retry reply”.");
        retry.hidden = false;
      } else {
        setBusy(false, "The connection dropped before your message was saved. It is still in the box: send it again.");
      }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (busy) return;
    if (!input.value.trim()) {
      status.textContent = "Type what you'd say to the customer first.";
      input.focus();
      return;
    }
    sentFrom = input;
    stream(runner.dataset.turnUrl, new FormData(form));
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  retry.addEventListener("click", () => { sentFrom = input; stream(runner.dataset.retryUrl, new FormData()); });
  // Send is rendered disabled: until the handlers above listen, a click would post the form plainly
  // and open the raw reply stream instead of the conversation.
  send.disabled = false;
  if (runner.dataset.pending === "1") {
    status.textContent = "The customer hasn't answered your last message yet.";
    retry.hidden = false;
  }

  // Elapsed time since the session started.
  const started = new Date(runner.dataset.started);
  const elapsed = document.getElementById("elapsed");
  const tick = () => {
    const seconds = Math.max(0, Math.floor((Date.now() - started.getTime()) / 1000));
    elapsed.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };
  tick();
  window.setInterval(tick, 1000);

  // Voice: hold to talk (or hands-free: click to start, click to stop), recorded with MediaRecorder.
  const talk = document.getElementById("talk");
  if (!voiceMode || !talk) return;
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    talk.disabled = true;
    status.textContent = "This browser can't record audio: type your replies instead.";
    return;
  }
  const handsfree = document.getElementById("handsfree");
  let recorder = null;
  let chunks = [];
  async function startRecording() {
    if (busy || recorder) return;
    try {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true });
      recorder = new MediaRecorder(media);
    } catch (error) {
      status.textContent = "Microphone access was refused: allow it, or type your replies instead.";
      return;
    }
    chunks = [];
    recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", () => {
      recorder.stream.getTracks().forEach((track) => track.stop());
      const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      recorder = null;
      talk.setAttribute("aria-pressed", "false");
      talk.textContent = handsfree.checked ? "Start talking" : "Hold to talk";
      const body = new FormData();
      body.append("audio", blob, "turn.webm");
      status.textContent = "Transcribing…";
      sentFrom = talk;
      stream(runner.dataset.voiceUrl, body);
    });
    recorder.start();
    talk.setAttribute("aria-pressed", "true");
    talk.textContent = "Listening… release to send";
    status.textContent = "Listening…";
  }
  function stopRecording() {
    if (recorder && recorder.state === "recording") recorder.stop();
  }
  talk.addEventListener("pointerdown", () => { if (!handsfree.checked) startRecording(); });
  talk.addEventListener("pointerup", () => { if (!handsfree.checked) stopRecording(); });
  talk.addEventListener("pointerleave", () => { if (!handsfree.checked) stopRecording(); });
  talk.addEventListener("keydown", (event) => { if (event.key === " " && !handsfree.checked && !event.repeat) { event.preventDefault(); startRecording(); } });
  talk.addEventListener("keyup", (event) => { if (event.key === " " && !handsfree.checked) { event.preventDefault(); stopRecording(); } });
  talk.addEventListener("click", () => { if (handsfree.checked) { if (recorder) stopRecording(); else startRecording(); } });
  handsfree.addEventListener("change", () => { talk.textContent = handsfree.checked ? "Start talking" : "Hold to talk"; });
})();

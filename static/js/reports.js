// KPI upload: says before sending whether a file is checked now or in the background, and refuses
// files over the limit without uploading them. No inline scripts: the CSP forbids them.
document.addEventListener("change", (event) => {
  const input = event.target;
  const form = input.closest && input.closest("form.kpi-upload");
  if (!form || input.type !== "file") return;
  const note = form.querySelector(".kpi-size-note");
  const file = input.files && input.files[0];
  if (!note) return;
  note.textContent = "";
  input.setCustomValidity("");
  if (!file) return;
  const mb = (bytes) => (bytes / (1024 * 1024)).toFixed(1) + " MB";
  if (file.size > Number(form.dataset.maxBytes)) {
    input.setCustomValidity(`This file is ${mb(file.size)}; the limit is ${mb(Number(form.dataset.maxBytes))}.`);
    note.textContent = input.validationMessage;
  } else if (file.size > Number(form.dataset.previewLimit)) {
    note.textContent = `This file is ${mb(file.size)}: it will be checked and imported in the background, with a progress bar.`;
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches || !form.matches("form.kpi-upload, .kpi-commit form")) return;
  const button = form.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    button.textContent = form.matches(".kpi-upload") ? "Checking…" : "Importing…";
  }
});

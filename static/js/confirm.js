// Asks before a destructive action (data-confirm="End this practice session?"). Loaded without
// defer, before the body is parsed, so no click can reach a button before the question is asked.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});

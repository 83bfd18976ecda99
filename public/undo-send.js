// "Send now" holds the mail for Undo: the reply's countdown counts down in place, and when the
// hold ends the Undo button goes (the server would answer "already sent" by then). Without this
// script the countdown stays as the page rendered it and Undo still works until the hold ends.
(() => {
  function start(label) {
    label.dataset.started = 'true';
    // The page's own clock from now on: the server said how many seconds were left when it rendered.
    const deadline = performance.now() + Number(label.dataset.seconds) * 1000;
    const undo = document.querySelector(`[data-hold-undo="${label.id}"]`);
    const tick = () => {
      const left = Math.ceil((deadline - performance.now()) / 1000);
      if (left > 0) {
        label.textContent = label.dataset.text.replace('{seconds}', String(left));
        setTimeout(tick, deadline - performance.now() - (left - 1) * 1000);
        return;
      }
      label.textContent = label.dataset.doneText;
      label.classList.replace('state-held', 'state-queued');
      undo?.remove();
    };
    tick();
  }

  const startAll = (root) => {
    for (const label of root.querySelectorAll('[data-hold-countdown]:not([data-started])')) start(label);
  };
  startAll(document);
  // The thread tab swapped in by htmx brings its own countdowns.
  document.addEventListener('htmx:afterSwap', (event) => startAll(event.detail.target));
})();

// Presence on the case page (src/presence/): this page tells the server that its user has the
// case open, every 10 s while the page is visible, and whether they are writing in the reply box;
// leaving the page takes them off at once. The box of who else is here (#case-presence) is
// polled by htmx; a poll that brings the same text is not swapped in, so a screen reader hears
// only a change. Without this script the user is simply not shown to others.
(() => {
  const box = document.querySelector('[data-presence]');
  if (!box) return;
  const url = box.dataset.presence;
  const everyMs = 10_000;
  // no keystroke in the reply box for this long: no longer writing
  const typingEndsMs = 5_000;
  // This page load's name: leaving takes the user off only if no later page of theirs has beaten
  // since (sending a reply reloads the page, and this page's beacon may arrive after the next's).
  const page = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
  let typing = false;
  let typingTimer = null;
  let beatTimer = null;

  // The page's CSRF token, the one htmx sends from <body hx-headers>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['x-csrf-token'] || '';
    } catch {
      return '';
    }
  }

  function beat() {
    clearTimeout(beatTimer);
    beatTimer = setTimeout(() => {
      if (document.visibilityState === 'visible') beat();
    }, everyMs);
    fetch(url, {
      method: 'POST',
      body: new URLSearchParams({ typing: typing ? '1' : '', page }),
      headers: { 'x-csrf-token': csrfToken() },
      credentials: 'same-origin',
      redirect: 'manual',
    }).catch(() => {});
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    typingTimer = null;
    if (!typing) return;
    typing = false;
    beat();
  }

  // A keystroke in the reply box: the others learn at once that a reply is being written (one
  // heartbeat, not one per key); the regular heartbeats carry it on while the keys go on.
  function typed() {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, typingEndsMs);
    if (typing) return;
    typing = true;
    beat();
  }

  const inReplyBox = (target) => target instanceof Element && target.closest('form.reply-box');
  document.addEventListener('keydown', (event) => {
    if (!inReplyBox(event.target)) return;
    if (event.key.length === 1 || event.key === 'Backspace' || event.key === 'Delete' || event.key === 'Enter') typed();
  });
  for (const type of ['paste', 'drop']) {
    document.addEventListener(type, (event) => {
      if (inReplyBox(event.target)) typed();
    });
  }
  // Sending the reply ends the writing.
  document.addEventListener('submit', (event) => {
    if (inReplyBox(event.target)) stopTyping();
  });

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') beat();
  });
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) beat();
  });
  window.addEventListener('pagehide', () => {
    clearTimeout(beatTimer);
    clearTimeout(typingTimer);
    typing = false;
    navigator.sendBeacon(`${url}/removal`, new URLSearchParams({ _csrf: csrfToken(), page }));
  });

  // A poll is no navigation: when the session has ended (401 with HX-Redirect to the login) or
  // the case is gone, the box stays as it is, and the user's half-written reply stays on screen.
  document.addEventListener('htmx:beforeOnLoad', (event) => {
    if (event.detail.elt === box && event.detail.xhr.status !== 200) event.preventDefault();
  });

  let shown = box.innerHTML;
  document.addEventListener('htmx:beforeSwap', (event) => {
    if (event.detail.target !== box) return;
    const text = event.detail.serverResponse;
    if (text === shown) event.detail.shouldSwap = false;
    else shown = text;
  });

  if (document.visibilityState === 'visible') beat();
})();

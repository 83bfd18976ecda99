// Casedesk client behaviour: small, progressive additions to server-rendered pages.
(() => {
  const alerts = () => document.getElementById('alerts');

  function announce(text, kind) {
    const box = alerts();
    if (!box) return;
    const p = document.createElement('p');
    p.className = kind === 'error' ? 'flash error' : 'flash';
    p.textContent = text;
    box.replaceChildren(p);
  }
  window.casedesk = { announce };

  // htmx does not swap error responses; show the server's words instead of failing silently.
  document.addEventListener('htmx:responseError', (event) => {
    const xhr = event.detail.xhr;
    announce(xhr.responseText && xhr.responseText.length < 500 ? xhr.responseText : `Error ${xhr.status}`, 'error');
  });
  document.addEventListener('htmx:sendError', () => {
    announce(document.documentElement.lang === 'sv' ? 'Servern svarar inte.' : 'The server does not answer.', 'error');
  });

  // Tabs swap only their panel; keep the highlighted tab in step with the URL htmx pushed.
  document.addEventListener('htmx:afterSwap', (event) => {
    const link = event.detail.requestConfig?.elt;
    const nav = link instanceof Element ? link.closest('nav.tabs') : null;
    if (!nav) return;
    for (const a of nav.querySelectorAll('a')) a.removeAttribute('aria-current');
    link.setAttribute('aria-current', 'page');
  });

  // Ctrl+D in a note field inserts today's date and the user's name at the cursor.
  document.addEventListener('keydown', (event) => {
    const field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || !field.dataset.dateStamp) return;
    if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== 'd') return;
    event.preventDefault();
    const now = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${field.dataset.dateStamp}: `;
    field.setRangeText(stamp, field.selectionStart, field.selectionEnd, 'end');
    field.dispatchEvent(new Event('input', { bubbles: true }));
  });

  // Trix's toolbar speaks English; its buttons get the texts of the user's language from the
  // catalogues (the editor's data-labels, views/partials/field.eta, keyed by Trix's button
  // attribute or action).
  document.addEventListener('trix-initialize', (event) => {
    const toolbar = event.target.toolbarElement;
    if (!toolbar) return;
    const trixLabels = JSON.parse(event.target.dataset.labels || '{}');
    for (const button of toolbar.querySelectorAll('button')) {
      const key = button.dataset.trixAttribute || button.dataset.trixAction;
      if (!key || !trixLabels[key]) continue;
      button.title = trixLabels[key];
      button.textContent = trixLabels[key];
    }
    const url = toolbar.querySelector('input[name="href"]');
    if (url && trixLabels.urlPlaceholder) {
      url.placeholder = trixLabels.urlPlaceholder;
      url.setAttribute('aria-label', trixLabels.urlLabel);
    }
    const [linkButton, unlinkButton] = toolbar.querySelectorAll('.trix-dialog--link input[type="button"]');
    if (linkButton && trixLabels.link) linkButton.value = trixLabels.link;
    if (unlinkButton && trixLabels.unlink) unlinkButton.value = trixLabels.unlink;
  });

  // F2 or Ctrl+S saves the form that has focus (or the page's main form), with its one-time
  // form_key like the button does. Trix writes a keystroke into the form's hidden input when it
  // renders, on the next animation frame (its element's value is that input), so the save waits
  // for that frame: F2 right after typing keeps the last keystroke, and F2 twice sends the same
  // text twice, which the server takes as one.
  document.addEventListener('keydown', (event) => {
    const isSave = event.key === 'F2' || ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's');
    if (!isSave) return;
    const active = document.activeElement;
    const form = active?.closest?.('form[data-save-shortcut]') || document.querySelector('form[data-save-shortcut]');
    if (!form) return;
    event.preventDefault();
    requestAnimationFrame(() => form.requestSubmit());
  });

  // Filters that apply as soon as they change (inline handlers are barred by the CSP).
  document.addEventListener('change', (event) => {
    const el = event.target;
    if (el instanceof HTMLElement && el.hasAttribute('data-autosubmit') && el.form) el.form.requestSubmit();
  });

  // Forms that ask before doing something irreversible (without htmx).
  document.addEventListener('submit', (event) => {
    const form = event.target;
    const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Forms whose answer can be shown only once (a new API token): a second submit, a double click,
  // is not sent, so the page that comes back is the first one's. The server answers a repeat too
  // (the form's one-time key), but could only say that the answer was already shown.
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement) || !form.hasAttribute('data-submit-once')) return;
    if (form.dataset.submitted) event.preventDefault();
    else form.dataset.submitted = 'yes';
  });
  // a page shown again from the back-forward cache may be sent again
  window.addEventListener('pageshow', () => {
    for (const form of document.querySelectorAll('form[data-submitted]')) delete form.dataset.submitted;
  });
})();

// Drafts that are never lost: a case's reply, discussion and internal-note boxes (form[data-draft])
// save what they hold to the server a second after the last keystroke, when focus leaves the box,
// before an htmx request (a tab switch) swaps the box away, and when the page is left. While
// something typed is not stored yet, leaving the page asks first. The server keeps one draft per
// user, case and box (src/drafts/), and the box's page fills the box from it.
(() => {
  const delayMs = 1000;
  // per form: the text last stored (or loaded), the pending timer, the save on its way
  const states = new WeakMap();

  // The page's CSRF token, the one htmx sends from <body hx-headers>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['x-csrf-token'] || '';
    } catch {
      return '';
    }
  }

  // What the box holds, as its form would send it (without the token and the one-time key).
  function contentOf(form) {
    const data = new URLSearchParams(new FormData(form));
    data.delete('_csrf');
    data.delete('form_key');
    return data.toString();
  }

  function stateOf(form) {
    let state = states.get(form);
    if (!state) {
      // base: the server's draft this box was filled from, sent with each save (src/drafts/routes.ts)
      state = { stored: contentOf(form), timer: null, saving: null, base: form.dataset.draftBase || '' };
      states.set(form, state);
    }
    return state;
  }

  const draftForms = () => [...document.querySelectorAll('form[data-draft]')];
  const isUnsaved = (form) => {
    const state = states.get(form);
    return Boolean(state && (state.saving || contentOf(form) !== state.stored));
  };

  function showBar(form, kept) {
    const bar = form.dataset.draftBar ? document.getElementById(form.dataset.draftBar) : null;
    if (bar) bar.hidden = !kept;
  }

  function save(form, { keepalive = false } = {}) {
    const state = stateOf(form);
    clearTimeout(state.timer);
    state.timer = null;
    const content = contentOf(form);
    if (content === state.stored) return state.saving || Promise.resolve();
    const request = (state.saving || Promise.resolve())
      .then(() =>
        fetch(form.dataset.draft, {
          method: 'POST',
          body: new URLSearchParams([...new URLSearchParams(content), ['draft_base', state.base]]),
          headers: { 'x-csrf-token': csrfToken() },
          credentials: 'same-origin',
          // a login page after an expired session is no stored draft
          redirect: 'manual',
          keepalive,
        }),
      )
      .then(async (response) => {
        // the same user's other window stored a newer draft: this one's text is not stored (and
        // leaving still asks), and the user is told how to see the other
        if (response.status === 409) throw new Error(form.dataset.draftStale);
        if (!response.ok) throw new Error('');
        const { kept, base } = await response.json();
        state.stored = content;
        state.base = base == null ? '' : String(base);
        // a later save queued behind this one says "saved" when it is stored: until then the
        // newest text is not, and the bar would claim too much
        if (state.saving === request) showBar(form, kept);
      })
      .catch((error) => {
        const text = error?.message || form.dataset.draftFailed || 'The draft could not be saved.';
        window.casedesk?.announce(text, 'error');
      })
      .finally(() => {
        if (state.saving === request) state.saving = null;
      });
    state.saving = request;
    return request;
  }

  function edited(form) {
    const state = stateOf(form);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => save(form), delayMs);
  }

  // Take each box's loaded content as stored, before the first keystroke (and again when Trix has
  // read its value in, which it may write back reformatted).
  const remember = () => {
    for (const form of draftForms()) stateOf(form);
  };
  document.addEventListener('DOMContentLoaded', remember);
  document.addEventListener('htmx:load', remember);
  document.addEventListener('trix-initialize', (event) => {
    const form = event.target.closest?.('form[data-draft]');
    const state = form && states.get(form);
    if (state && !state.timer && !state.saving) state.stored = contentOf(form);
  });

  // Trix writes the hidden input as it renders and then says trix-change; plain fields say input.
  for (const type of ['input', 'change', 'trix-change']) {
    document.addEventListener(type, (event) => {
      const form = event.target.closest?.('form[data-draft]');
      if (form) edited(form);
    });
  }

  document.addEventListener('focusout', (event) => {
    const form = event.target.closest?.('form[data-draft]');
    if (form && !form.contains(event.relatedTarget)) save(form);
  });

  // An htmx request (a tab switch, above all) waits until the boxes are stored, so the box it
  // brings back has the text.
  document.addEventListener('htmx:confirm', (event) => {
    const unsaved = draftForms().filter(isUnsaved);
    if (!unsaved.length) return;
    event.preventDefault();
    Promise.all(unsaved.map((form) => save(form))).then(() => event.detail.issueRequest());
  });

  // Sending from the box (or discarding its draft) uses the draft up: nothing left to store or ask about.
  document.addEventListener('submit', (event) => {
    if (event.defaultPrevented) return;
    const target = event.target;
    if (!(target instanceof HTMLFormElement)) return;
    const form = target.matches('form[data-draft]')
      ? target
      : target.hasAttribute('data-draft-bar')
        ? draftForms().find((f) => f.dataset.draftBar === target.id)
        : null;
    if (!form) return;
    const state = stateOf(form);
    clearTimeout(state.timer);
    state.timer = null;
    state.stored = contentOf(form);
    if (state.saving) {
      // a save on its way would store the draft again after the send or discard
      event.preventDefault();
      state.saving.then(() => {
        state.saving = null;
        target.submit();
      });
    }
  });

  // Leaving the page: what is not stored yet goes now, and the browser asks first.
  window.addEventListener('beforeunload', (event) => {
    const unsaved = draftForms().filter(isUnsaved);
    if (!unsaved.length) return;
    for (const form of unsaved) save(form, { keepalive: true });
    event.preventDefault();
    event.returnValue = '';
  });
})();

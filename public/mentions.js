// @mention autocomplete for Trix editors inside a form marked data-mentions. Typing "@an" asks
// /users/mentionable?q=an and offers the matches in a listbox under the editor; picking one
// (Enter, Tab or a click) replaces "@an" with "@ANNA ". The server finds the mentions on its own
// when the post is saved, so this is only a help for typing.
(() => {
  // "@" and at least one letter of a login, right before the caret, not glued to a word or an
  // e-mail address (the same rule as findMentions on the server).
  const typedMention = /(?:^|[^\p{L}\p{N}_.+\-@])@([A-Za-z0-9_.-]{1,32})$/u;
  let open = null; // { editor, list, options, active, query }
  let pending = null;
  let timer = 0;
  let counter = 0;

  const editorIn = (el) =>
    el instanceof Element && el.matches('trix-editor') && el.closest('form[data-mentions]') ? el : null;

  // The "@partial" just before the caret: its start position and the letters typed.
  function mentionAtCaret(element) {
    const editor = element.editor;
    if (!editor) return null;
    const [start, end] = editor.getSelectedRange();
    if (start !== end) return null;
    const before = editor
      .getDocument()
      .toString()
      .slice(Math.max(0, start - 40), start);
    const match = typedMention.exec(before);
    if (!match) return null;
    const query = match[1];
    return { from: start - query.length - 1, to: start, query };
  }

  function close() {
    if (pending) pending.abort();
    pending = null;
    clearTimeout(timer);
    if (!open) return;
    open.list.remove();
    open.editor.removeAttribute('aria-activedescendant');
    open.editor.removeAttribute('aria-controls');
    open = null;
  }

  function setActive(index) {
    if (!open?.options.length) return;
    const count = open.options.length;
    open.active = (index + count) % count;
    open.options.forEach((option, i) => {
      const on = i === open.active;
      option.setAttribute('aria-selected', on ? 'true' : 'false');
      option.style.background = on ? '#d7e3f7' : '';
    });
    const current = open.options[open.active];
    open.editor.setAttribute('aria-activedescendant', current.id);
    current.scrollIntoView({ block: 'nearest' });
  }

  function pick(option) {
    if (!open) return;
    const element = open.editor;
    const login = option.dataset.login;
    close();
    const at = mentionAtCaret(element);
    if (!at || !login) return;
    const editor = element.editor;
    editor.setSelectedRange([at.from, at.to]);
    editor.deleteInDirection('backward');
    editor.insertString(`@${login} `);
    element.focus();
  }

  function show(element, query, users) {
    close();
    if (!users.length) return;
    const form = element.closest('form[data-mentions]');
    const list = document.createElement('ul');
    const id = `mention-list-${++counter}`;
    list.id = id;
    list.className = 'mention-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', form?.dataset.mentionsLabel || '@');
    // No style sheet of its own: a small box that sits right under the editor.
    Object.assign(list.style, {
      listStyle: 'none',
      margin: '0.25rem 0 0',
      padding: '0.25rem 0',
      maxWidth: '24rem',
      maxHeight: '16rem',
      overflowY: 'auto',
      background: '#fff',
      border: '1px solid #b8c2d3',
      borderRadius: '6px',
      boxShadow: '0 4px 12px rgba(0, 0, 0, 0.12)',
    });
    const options = users.map((user, i) => {
      const option = document.createElement('li');
      option.id = `${id}-${i}`;
      option.setAttribute('role', 'option');
      option.dataset.login = user.login;
      Object.assign(option.style, { padding: '0.25rem 0.75rem', cursor: 'pointer' });
      const login = document.createElement('strong');
      login.textContent = user.login;
      option.append(login, ` ${user.name}`);
      // mousedown, not click: the editor keeps its focus and caret.
      option.addEventListener('mousedown', (event) => {
        event.preventDefault();
        pick(option);
      });
      option.addEventListener('mousemove', () => setActive(i));
      list.append(option);
      return option;
    });
    element.insertAdjacentElement('afterend', list);
    element.setAttribute('aria-controls', id);
    open = { editor: element, list, options, active: 0, query };
    setActive(0);
  }

  async function suggest(element, query) {
    if (pending) pending.abort();
    const controller = new AbortController();
    pending = controller;
    try {
      const response = await fetch(`/users/mentionable?q=${encodeURIComponent(query)}`, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
        signal: controller.signal,
      });
      const isJson = (response.headers.get('content-type') || '').includes('application/json');
      const users = response.ok && isJson ? await response.json() : [];
      if (pending !== controller) return;
      pending = null;
      // The caret may have moved on while we waited; offer only what still fits.
      const at = mentionAtCaret(element);
      if (at && at.query === query) show(element, query, users);
      else if (!at) close();
    } catch (error) {
      if (error?.name !== 'AbortError') close();
    }
  }

  function update(element) {
    const at = mentionAtCaret(element);
    if (!at) return close();
    if (open && open.editor === element && open.query === at.query) return;
    clearTimeout(timer);
    timer = setTimeout(() => suggest(element, at.query), 120);
  }

  for (const name of ['trix-change', 'trix-selection-change']) {
    document.addEventListener(name, (event) => {
      const element = editorIn(event.target);
      if (element && document.activeElement === element) update(element);
    });
  }
  document.addEventListener('trix-blur', (event) => {
    if (open && event.target === open.editor) close();
  });

  // Captured on the document, before Trix sees the key: Enter picks instead of starting a line.
  document.addEventListener(
    'keydown',
    (event) => {
      if (!open || event.target !== open.editor) return;
      const keys = {
        ArrowDown: () => setActive(open.active + 1),
        ArrowUp: () => setActive(open.active - 1),
        Enter: () => pick(open.options[open.active]),
        Tab: () => pick(open.options[open.active]),
        Escape: () => close(),
      };
      const action = keys[event.key];
      if (!action || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      event.stopPropagation();
      action();
    },
    true,
  );

  // A tab swapped by htmx takes its editor with it; other swaps (the presence line polled every
  // second, the bell) leave the editor and its suggestions alone.
  document.addEventListener('htmx:beforeSwap', (event) => {
    const target = event.detail.target;
    if (open && target instanceof Element && target.contains(open.editor)) close();
  });
})();

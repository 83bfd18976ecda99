// Keyboard shortcuts on every logged-in page; views/partials/shortcuts.eta lists them for "?".
//   ?        the list (a modal <dialog> from GET /shortcuts; Esc or its Close button closes it)
//   /        the overview's search field, or the overview with its search field focused
//   j / k    the next / previous row of the overview, marked and focused; Enter opens its case
//   r / n    on a case: the reply to the customer / the internal note, opening its tab if need be
//   Esc      closes open menus (<details> with a .menu-panel) and dialogs
//   g, o     the overview
// None fires while the user types in a field (input, textarea, select, contenteditable, Trix), or
// with Ctrl, Alt or Meta held: those keys belong to the field and to the browser.
(() => {
  const overviewUrl = '/cases';
  // "/" from another page opens the overview with this hash, and the overview then focuses search
  const searchHash = '#search';
  // how long g waits for its o
  const sequenceMs = 1500;

  const isTyping = (el) =>
    el instanceof Element &&
    (el.isContentEditable || el.closest('input, textarea, select, [contenteditable], trix-editor') !== null);
  // Enter on these does their own thing (a link opens, a button presses)
  const isControl = (el) =>
    el instanceof Element && el.closest('a[href], button, summary, [role="button"], [role="link"]') !== null;

  // --- ? : the list of shortcuts -----------------------------------------------------------
  // The <dialog> comes from GET /shortcuts as a fragment the first time it is asked for
  // (views/shortcuts/_dialog.eta), in the user's language, and stays in the page after that.
  let helpLoading = false;
  function showHelp(dialog) {
    if (!(dialog instanceof HTMLDialogElement) || dialog.open) return;
    closeMenus();
    dialog.showModal();
  }
  function openHelp() {
    const dialog = document.getElementById('shortcuts-dialog');
    if (dialog) {
      showHelp(dialog);
      return true;
    }
    if (helpLoading) return true;
    helpLoading = true;
    fetch('/shortcuts', { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' })
      .then((response) => (response.ok ? response.text() : Promise.reject(new Error(`${response.status}`))))
      .then((html) => {
        const template = document.createElement('template');
        template.innerHTML = html;
        const loaded = template.content.querySelector('dialog');
        // not the list (a login page after the session ended): the page itself says why
        if (!loaded) return window.location.assign('/shortcuts');
        document.body.append(loaded);
        showHelp(loaded);
      })
      .catch(() => window.location.assign('/shortcuts'))
      .finally(() => {
        helpLoading = false;
      });
    return true;
  }
  document.addEventListener('click', (event) => {
    const opener = event.target instanceof Element ? event.target.closest('[data-shortcuts-open]') : null;
    if (!opener) return;
    event.preventDefault();
    openHelp();
  });

  // --- Esc: menus and dialogs ----------------------------------------------------------------
  function closeMenus() {
    let closed = false;
    for (const menu of document.querySelectorAll('details[open]')) {
      if (!menu.querySelector(':scope > .menu-panel')) continue;
      const hadFocus = menu.contains(document.activeElement);
      menu.removeAttribute('open');
      if (hadFocus) menu.querySelector('summary')?.focus();
      closed = true;
    }
    return closed;
  }
  function closeDialogs() {
    let closed = false;
    for (const dialog of document.querySelectorAll('dialog[open]')) {
      dialog.close();
      closed = true;
    }
    return closed;
  }

  // --- / : search ----------------------------------------------------------------------------
  const searchField = () => document.getElementById('filter-q');
  function focusSearch(field) {
    field.focus();
    field.select();
  }
  function goToSearch() {
    const field = searchField();
    if (field) focusSearch(field);
    else window.location.assign(overviewUrl + searchHash);
    return true;
  }
  function focusSearchFromHash() {
    if (window.location.hash !== searchHash) return;
    const field = searchField();
    if (!field) return;
    history.replaceState(history.state, '', window.location.pathname + window.location.search);
    focusSearch(field);
  }

  // --- j / k / Enter : the overview's rows -----------------------------------------------------
  // The selection is the row's id, so it outlives htmx swapping the row (a quick edit, a refresh).
  let selectedRowId = null;
  const overviewRows = () => [...document.querySelectorAll('table.overview > tbody > tr[id^="case-row-"]')];
  const caseLinkOf = (row) => row.cells[0]?.querySelector('a[href]') ?? null;
  function markSelected() {
    for (const row of document.querySelectorAll('table.overview tr.is-selected')) {
      if (row.id === selectedRowId) continue;
      row.classList.remove('is-selected');
      row.removeAttribute('aria-current');
    }
    const row = selectedRowId ? document.getElementById(selectedRowId) : null;
    if (!row) return null;
    row.classList.add('is-selected');
    row.setAttribute('aria-current', 'true');
    return row;
  }
  function moveSelection(step) {
    const rows = overviewRows();
    if (!rows.length) return false;
    const at = rows.findIndex((row) => row.id === selectedRowId);
    const next = at === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    selectedRowId = rows[next].id;
    const row = markSelected();
    // The focus follows, so a screen reader reads the case and Enter is the link's own.
    caseLinkOf(row)?.focus({ preventScroll: true });
    row.scrollIntoView({ block: 'nearest' });
    return true;
  }
  function openSelected() {
    const row = selectedRowId ? document.getElementById(selectedRowId) : null;
    const link = row ? caseLinkOf(row) : null;
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }
  document.addEventListener('htmx:afterSettle', () => {
    if (selectedRowId) markSelected();
  });

  // --- r / n : the case's reply and internal note ------------------------------------------------
  // The field to focus once htmx has brought in its tab.
  let pendingField = null;
  const replyField = 'trix-editor[input="reply-body"]';
  const noteField = '#internal-note';
  function focusField(field) {
    field.scrollIntoView({ block: 'center' });
    field.focus();
  }
  function openBox(tab, selector) {
    const field = document.querySelector(selector);
    if (field) {
      focusField(field);
      return true;
    }
    const link = document.querySelector(`nav.tabs a[href$="/${tab}"]`);
    if (!link) return false;
    pendingField = selector;
    link.click();
    return true;
  }
  document.addEventListener('htmx:afterSettle', () => {
    if (!pendingField) return;
    const field = document.querySelector(pendingField);
    pendingField = null;
    // Trix sets its editor up when the element arrives; the focus waits for that frame.
    if (field) requestAnimationFrame(() => focusField(field));
  });

  // --- the keys ---------------------------------------------------------------------------------
  let gPressedAt = 0;
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.altKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    const key = event.key;
    const afterG = key === 'o' && Date.now() - gPressedAt < sequenceMs;
    gPressedAt = 0;
    if (key === 'Escape') {
      // a modal dialog closes itself on Esc; the menus and any other dialog close here
      const menus = closeMenus();
      const dialogs = closeDialogs();
      if (menus || dialogs) event.preventDefault();
      return;
    }
    // Behind a modal dialog (this list, the work order form) the page's shortcuts rest.
    if (document.querySelector('dialog[open]:modal')) return;
    let done = false;
    if (afterG) {
      window.location.assign(overviewUrl);
      done = true;
    } else if (key === 'g') {
      gPressedAt = Date.now();
      done = true;
    } else if (key === '?') done = openHelp();
    else if (key === '/') done = goToSearch();
    else if (key === 'j') done = moveSelection(1);
    else if (key === 'k') done = moveSelection(-1);
    else if (key === 'Enter' && !isControl(event.target)) done = openSelected();
    else if (key === 'r') done = openBox('thread', replyField);
    else if (key === 'n') done = openBox('internal', noteField);
    if (done) event.preventDefault();
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', focusSearchFromHash);
  else focusSearchFromHash();
})();

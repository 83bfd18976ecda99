// The overview's row pickers (status, priority, type, responsible) save on a mouse choice, on Enter,
// or when focus leaves the picker, never on each arrow key: ArrowUp/ArrowDown on a closed select
// changes its value (and fires change) as they walk past the options, and saving each of those
// would swap the row and drop the focus to the page. The row's template has the picker post on
// "quick-save"; htmx puts the focus back on the picker by its id after the swap. Escape puts back
// the saved value, so a walk the user takes back is not saved when they leave the picker.
(() => {
  const walkingKeys = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);
  const isPicker = (el) => el instanceof HTMLSelectElement && el.hasAttribute('data-quick-edit');
  // The select whose value a key is changing right now; its change event comes in that key's default action.
  let walking = null;

  // A row arrives as text (views/cases/index/_row.eta): each picker cell names its field (data-f)
  // and the value it shows (data-o), the row its version (data-v; its first cell is its case number). Here
  // each such cell becomes its picker, with the list and the accessible name from the page's
  // <template id="row-options-…">, and every cell gets its column's name as data-label for the
  // phone's card layout. This runs before htmx processes the page (this script is deferred, as
  // htmx is) and on each swap before htmx settles, so htmx wires the pickers up as it did when
  // they came from the server.
  function upgradeRow(tr) {
    tr.dataset.up = '1';
    const number = tr.cells[0]?.textContent?.trim() ?? '';
    const headers = tr.closest('table')?.tHead?.rows[0]?.cells;
    for (const [index, td] of [...tr.cells].entries()) {
      const header = headers?.[index]?.textContent?.replace(/[▲▼]/g, '').trim();
      if (index > 1 && header) td.dataset.label = header;
      const template = td.dataset.f && document.getElementById(`row-options-${td.dataset.f}`);
      if (!(template instanceof HTMLTemplateElement)) continue;
      const field = template.dataset.field;
      const loaded = td.dataset.o ?? '';
      const select = document.createElement('select');
      select.name = 'value';
      select.id = `pick-${tr.id.replace('case-row-', '')}-${field}`;
      select.setAttribute('aria-label', (template.dataset.label ?? '').replace('{n}', number));
      select.setAttribute('hx-post', `/cases/${number}/quick-edit`);
      select.setAttribute('hx-trigger', 'quick-save');
      select.setAttribute('hx-vals', JSON.stringify({ field, version: tr.dataset.v, loaded }));
      select.setAttribute('hx-target', 'closest tr');
      select.setAttribute('hx-swap', 'outerHTML');
      select.setAttribute('data-quick-edit', '');
      select.dataset.savedValue = loaded;
      select.append(template.content.cloneNode(true));
      const shown = td.textContent?.trim() ?? '';
      // The value shown stays offered even where the list lacks it (the responsible's colleagues
      // are loaded when the picker is about to be used; an inactive status).
      if (![...select.options].some((o) => o.value === loaded)) select.prepend(new Option(shown, loaded));
      select.value = loaded;
      let avatar = null;
      if (td.dataset.i) {
        avatar = document.createElement('span');
        avatar.className = 'avatar small';
        avatar.setAttribute('aria-hidden', 'true');
        avatar.textContent = td.dataset.i;
        td.classList.add('responsible-cell');
      }
      if (field === 'responsible_id') {
        td.setAttribute('hx-get', `/cases/pickers/responsible?selected=${loaded}`);
        td.setAttribute('hx-trigger', 'focusin once, mouseover once');
        td.setAttribute('hx-target', 'find select');
        td.setAttribute('hx-swap', 'innerHTML');
      }
      td.replaceChildren(...(avatar ? [avatar] : []), select);
    }
  }
  const upgradeRows = () => {
    for (const tr of document.querySelectorAll('tr[data-v]:not([data-up])')) upgradeRow(tr);
  };
  upgradeRows();
  // htmx puts the focus back on the swapped row's picker by its id before htmx:afterSwap, when the
  // picker is not built yet: so it is put back here.
  let focusedId = null;
  document.addEventListener('htmx:beforeSwap', () => {
    focusedId = isPicker(document.activeElement) ? document.activeElement.id : null;
  });
  document.addEventListener('htmx:afterSwap', () => {
    upgradeRows();
    const again = focusedId && document.getElementById(focusedId);
    focusedId = null;
    if (again && !document.activeElement?.closest('tbody')) again.focus({ preventScroll: true });
  });

  // htmx drops a trigger on an element whose request is still in flight, so a second choice made
  // during a slow save was lost while the row came back "saved" with the first. Instead a choice
  // made while its row's save is in flight waits here (the last one per picker) and is sent when
  // that save is answered, from the swapped row's picker, which carries the row's new version.
  const busyRows = new Map(); // a request in flight (its xhr) -> its row's id
  const waiting = new Map(); // a row's id -> Map(picker id -> the value chosen meanwhile)
  document.addEventListener('htmx:beforeRequest', (event) => {
    const select = event.detail.elt;
    if (isPicker(select)) busyRows.set(event.detail.xhr, select.closest('tr')?.id);
  });
  document.addEventListener('htmx:afterRequest', (event) => {
    const rowId = busyRows.get(event.detail.xhr);
    if (rowId === undefined) return;
    busyRows.delete(event.detail.xhr);
    const choices = waiting.get(rowId);
    waiting.delete(rowId);
    for (const [id, value] of choices ?? []) {
      const select = document.getElementById(id);
      if (!isPicker(select)) continue;
      // The swapped row's picker is wired up by htmx only when it settles; this one is needed now.
      window.htmx.process(select);
      select.value = value;
      save(select);
    }
  });

  function save(select) {
    if (select.value === (select.dataset.savedValue ?? '') || !window.htmx) return;
    const rowId = select.closest('tr')?.id;
    if ([...busyRows.values()].includes(rowId)) {
      if (!waiting.has(rowId)) waiting.set(rowId, new Map());
      waiting.get(rowId).set(select.id, select.value);
      return;
    }
    // Taken as saved at once: the blur when the swap removes the picker must not send it again.
    select.dataset.savedValue = select.value;
    window.htmx.trigger(select, 'quick-save');
  }

  document.addEventListener('keydown', (event) => {
    const select = event.target;
    if (!isPicker(select)) return;
    if (event.key === 'Enter') {
      // Enter saves; it does not also open the options list.
      event.preventDefault();
      save(select);
      return;
    }
    if (event.key === 'Escape') {
      // Escape takes back the options walked since the last save, so leaving the picker after it
      // saves nothing. Setting the value in script fires no change event.
      const saved = select.dataset.savedValue ?? '';
      if (select.value !== saved) {
        event.preventDefault();
        select.value = saved;
      }
      return;
    }
    // Arrows and type-to-select letters walk the options; the change they cause waits.
    if (walkingKeys.has(event.key) || (event.key.length === 1 && event.key !== ' ')) {
      walking = select;
      setTimeout(() => {
        if (walking === select) walking = null;
      }, 0);
    }
  });

  document.addEventListener('change', (event) => {
    const select = event.target;
    if (isPicker(select) && walking !== select) save(select);
  });

  document.addEventListener('focusout', (event) => {
    if (isPicker(event.target)) save(event.target);
  });
})();

// Bulk actions on the overview (issue 18): a checkbox at the start of each row and "select all on
// this page" in the header, shift-click ticks the range from the last row clicked, and the first
// tick fetches the bulk bar (GET /cases/bulk-changes, views/cases/bulk/_bar.eta) above the table.
// On send the bar's form gets each ticked row as case=id:version, the version the row shows now
// (a row the user edited in place carries its new one), and the page's address to come back to.
// Rows arrive as text and are swapped by htmx (a quick edit, a new page of results): the boxes are
// added again after each swap, ticked while their case stays selected.
(() => {
  const script = document.currentScript;
  const selectLabel = script?.dataset.select ?? '{n}';
  const allLabel = script?.dataset.all ?? '';
  const selected = new Set();
  let lastClicked = null;
  let bar = null;
  let loading = null;

  const rows = () => [...document.querySelectorAll('table.overview tbody tr[data-v]')];
  const idOf = (tr) => tr.id.replace('case-row-', '');
  const numberOf = (tr) => tr.cells[0]?.querySelector('a')?.textContent?.trim() ?? '';

  function addBoxes() {
    const table = document.querySelector('table.overview');
    if (!table) return;
    const head = table.tHead?.rows[0]?.cells[0];
    if (head && !head.querySelector('.bulk-all')) {
      const all = document.createElement('input');
      all.type = 'checkbox';
      all.className = 'bulk-all';
      all.setAttribute('aria-label', allLabel);
      head.prepend(all, ' ');
    }
    for (const tr of rows()) {
      if (tr.querySelector('.bulk-pick')) continue;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'bulk-pick';
      box.setAttribute('aria-label', selectLabel.replace('{n}', numberOf(tr)));
      box.checked = selected.has(idOf(tr));
      tr.cells[0]?.prepend(box, ' ');
    }
    // a page of other rows: what is no longer shown is no longer selected
    const shown = new Set(rows().map(idOf));
    for (const id of [...selected]) if (!shown.has(id)) selected.delete(id);
    refresh();
  }

  function refresh() {
    const all = document.querySelector('.bulk-all');
    const count = rows().length;
    if (all) {
      all.checked = count > 0 && selected.size === count;
      all.indeterminate = selected.size > 0 && selected.size < count;
    }
    if (selected.size && !bar) loadBar();
    if (!bar) return;
    bar.hidden = selected.size === 0;
    const label = bar.querySelector('.bulk-count');
    if (label) label.textContent = (label.dataset.text ?? '{n}').replace('{n}', String(selected.size));
  }

  function showAction() {
    const action = bar?.querySelector('[name=action]')?.value;
    for (const field of bar?.querySelectorAll('[data-for]') ?? []) field.hidden = field.dataset.for !== action;
  }

  async function loadBar() {
    if (loading) return;
    loading = fetch('/cases/bulk-changes', { headers: { 'HX-Request': 'true' } })
      .then((response) => (response.ok ? response.text() : Promise.reject(new Error(String(response.status)))))
      .then((html) => {
        const template = document.createElement('template');
        template.innerHTML = html;
        bar = template.content.querySelector('form.bulk-bar');
        const wrap = document.querySelector('#overview-results .table-wrap');
        if (!bar || !wrap) return;
        // kept outside the swapped results, so a quick edit or a new page keeps what was chosen
        document.getElementById('overview-results')?.before(bar);
        bar.querySelector('[name=action]')?.addEventListener('change', showAction);
        showAction();
        refresh();
      })
      .catch(() => {
        loading = null;
      });
  }

  document.addEventListener('click', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    if (box.classList.contains('bulk-all')) {
      for (const tr of rows()) {
        const pick = tr.querySelector('.bulk-pick');
        if (pick) pick.checked = box.checked;
        if (box.checked) selected.add(idOf(tr));
        else selected.delete(idOf(tr));
      }
      refresh();
      return;
    }
    if (!box.classList.contains('bulk-pick')) return;
    const tr = box.closest('tr');
    const list = rows();
    const at = list.indexOf(tr);
    const from = lastClicked ? list.indexOf(lastClicked) : -1;
    // shift-click: every row between the last one clicked and this one takes this one's state
    const range = event.shiftKey && from >= 0 ? list.slice(Math.min(from, at), Math.max(from, at) + 1) : [tr];
    for (const row of range) {
      const pick = row.querySelector('.bulk-pick');
      if (pick) pick.checked = box.checked;
      if (box.checked) selected.add(idOf(row));
      else selected.delete(idOf(row));
    }
    lastClicked = tr;
    refresh();
  });

  document.addEventListener('click', (event) => {
    if (!(event.target instanceof Element) || !event.target.closest('[data-bulk-clear]')) return;
    selected.clear();
    for (const pick of document.querySelectorAll('.bulk-pick')) pick.checked = false;
    refresh();
  });

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains('bulk-bar')) return;
    for (const old of form.querySelectorAll('input[name=case]')) old.remove();
    for (const tr of rows()) {
      if (!selected.has(idOf(tr))) continue;
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = 'case';
      input.value = `${idOf(tr)}:${tr.dataset.v}`;
      form.append(input);
    }
    const back = form.querySelector('input[name=back]');
    if (back) back.value = location.pathname + location.search;
  });

  addBoxes();
  document.addEventListener('htmx:afterSwap', addBoxes);
})();

// The overview's row pickers (status, priority, type, responsible) save on a mouse choice, on Enter,
// or when focus leaves the picker, never on each arrow key: ArrowUp/ArrowDown on a closed select
// changes its value (and fires change) as they walk past the options, and saving each of those
// would swap the row and drop the focus to the page. The row's template has the picker post on
// "quick-save"; htmx puts the focus back on the picker by its id after the swap.
(() => {
  const walkingKeys = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);
  const isPicker = (el) => el instanceof HTMLSelectElement && el.hasAttribute('data-quick-edit');
  // The select whose value a key is changing right now; its change event comes in that key's default action.
  let walking = null;

  function save(select) {
    if (select.value === (select.dataset.savedValue ?? '') || !window.htmx) return;
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

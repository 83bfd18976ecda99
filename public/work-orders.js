// Manage → Create work order: the form htmx loads into the case page's <dialog data-modal>
// opens it as a modal; its Cancel link just closes it (and without JavaScript goes back to the case).
(() => {
  document.addEventListener('htmx:afterSwap', (event) => {
    const target = event.detail.target;
    const dialog = target instanceof Element ? target.closest('dialog[data-modal]') : null;
    if (!(dialog instanceof HTMLDialogElement)) return;
    dialog.closest('main')?.querySelector('details.manage-menu[open]')?.removeAttribute('open');
    if (!dialog.open) dialog.showModal();
    const invalid = dialog.querySelector('[aria-invalid="true"]');
    (invalid || dialog.querySelector('select, input:not([type="hidden"])'))?.focus();
  });

  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('[data-close-dialog]') : null;
    const dialog = link?.closest('dialog');
    if (!dialog) return;
    event.preventDefault();
    dialog.close();
  });
})();

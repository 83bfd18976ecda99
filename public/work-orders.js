// Manage → Create work order: the form htmx loads into the case page's <dialog data-modal>
// opens it as a modal; its Cancel link just closes it (and without JavaScript goes back to the case).
(() => {
  document.addEventListener('htmx:afterSwap', (event) => {
    const target = event.detail.target;
    // A refused form replaces itself (outerHTML), so its old element is no longer in the page:
    // the swap then happened in the modal already open.
    const dialog =
      target instanceof Element && target.isConnected
        ? target.closest('dialog[data-modal]')
        : document.querySelector('dialog[data-modal][open]');
    if (!(dialog instanceof HTMLDialogElement)) return;
    dialog.closest('main')?.querySelector('details.manage-menu[open]')?.removeAttribute('open');
    // Someone typing in the dialog (the project search refreshing the options) keeps their place.
    if (dialog.open && dialog.contains(document.activeElement)) return;
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

// Documents tab: files dragged onto the upload form are uploaded as if chosen in its file input.
// Without this script the file input alone does the job.
(() => {
  const zoneOf = (event) => (event.target instanceof Element ? event.target.closest('[data-drop-zone]') : null);
  const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes('Files');

  document.addEventListener('dragover', (event) => {
    const zone = zoneOf(event);
    if (!zone || !carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    zone.classList.add('is-dragover');
  });

  document.addEventListener('dragleave', (event) => {
    const zone = zoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove('is-dragover');
  });

  document.addEventListener('drop', (event) => {
    const zone = zoneOf(event);
    if (!zone) return;
    zone.classList.remove('is-dragover');
    const input = zone.querySelector('input[type="file"]');
    if (!input || !event.dataTransfer?.files.length) return;
    event.preventDefault();
    input.files = event.dataTransfer.files;
    // The form (htmx or plain) sends them with the folder chosen above.
    if (zone instanceof HTMLFormElement) zone.requestSubmit();
    else input.form?.requestSubmit();
  });
})();

// The "Canned reply" picker: the chosen text goes into the reply editor at the cursor.
(() => {
  document.addEventListener('change', async (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.cannedReplyFor || !select.value) return;
    const editor = document.querySelector(`trix-editor[input="${select.dataset.cannedReplyFor}"]`);
    const id = select.value;
    select.value = '';
    if (!editor) return;
    const response = await fetch(`/canned-replies/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
    if (!response.ok) {
      window.casedesk?.announce(await response.text(), 'error');
      return;
    }
    editor.editor.insertHTML(await response.text());
    editor.focus();
  });
})();

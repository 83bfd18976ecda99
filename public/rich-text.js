// Trix additions. Each feature keeps to its own block; add new ones below, in their own IIFE.

// ── Images in rich text ─────────────────────────────────────────────────────────────────────
// An image pasted, dropped or inserted into any Trix editor is uploaded at once to
// /uploads/images; the text keeps only its URL. Other files are refused here: they belong in a
// case's Documents tab.
(() => {
  const imageTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
  const messages = {
    sv: {
      notImage: 'Bara bilder i PNG, JPEG, GIF eller WebP kan infogas i texten. Lägg andra filer under Dokument.',
      failed: 'Bilden kunde inte laddas upp.',
      pending: 'Vänta tills bilderna har laddats upp.',
    },
    en: {
      notImage: 'Only PNG, JPEG, GIF or WebP images can be inserted in the text. Add other files under Documents.',
      failed: 'The image could not be uploaded.',
      pending: 'Wait until the images have been uploaded.',
    },
  };
  const text = (key) => (messages[document.documentElement.lang] || messages.en)[key];
  const announce = (message) => window.casedesk?.announce(message, 'error');
  // Uploads still running, so a form is not sent with an image missing from its text.
  const pending = new Set();

  // The page's CSRF token, the one htmx sends from <body hx-headers>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['x-csrf-token'] || '';
    } catch {
      return '';
    }
  }

  // The server's reason (JSON { error } from the upload route, or the plain text of an error page).
  async function reasonOf(response) {
    const body = await response.text();
    try {
      return JSON.parse(body).error || text('failed');
    } catch {
      return body && body.length < 300 ? body : text('failed');
    }
  }

  async function upload(attachment) {
    const form = new FormData();
    form.append('file', attachment.file);
    pending.add(attachment);
    // fetch reports no upload progress; show that it started, then that it finished.
    attachment.setUploadProgress(10);
    try {
      const response = await fetch('/uploads/images', {
        method: 'POST',
        body: form,
        headers: { 'x-csrf-token': csrfToken(), accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!response.ok) throw new Error(await reasonOf(response));
      const { url } = await response.json();
      attachment.setUploadProgress(100);
      attachment.setAttributes({ url, href: url });
    } catch (error) {
      attachment.remove();
      announce(error instanceof Error && error.message !== 'Failed to fetch' ? error.message : text('failed'));
    } finally {
      pending.delete(attachment);
    }
  }

  document.addEventListener('trix-file-accept', (event) => {
    if (imageTypes.includes(event.file?.type)) return;
    event.preventDefault();
    announce(text('notImage'));
  });

  document.addEventListener('trix-attachment-add', (event) => {
    const attachment = event.attachment;
    // Only new files; an attachment already in the text (reopened, undone) has its URL.
    if (attachment.file && !attachment.getAttribute('url')) upload(attachment);
  });

  // Captured before htmx or the browser act on it, so the text is never sent half-uploaded.
  document.addEventListener(
    'submit',
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !pending.size || !form.querySelector('trix-editor')) return;
      event.preventDefault();
      event.stopPropagation();
      announce(text('pending'));
    },
    true,
  );
})();

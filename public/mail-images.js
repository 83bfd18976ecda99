// Thread: remote images in a customer's mail arrive as links (data-remote-src), so nothing loads
// from elsewhere by itself. "Show images" on an entry puts them back as images, on request only.
// Without this script the links still open each image.
(() => {
  for (const button of document.querySelectorAll('[data-show-remote-images]')) button.hidden = false;

  document.addEventListener('htmx:load', (event) => {
    for (const button of event.target.querySelectorAll?.('[data-show-remote-images]') || []) button.hidden = false;
  });

  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('[data-show-remote-images]') : null;
    if (!button) return;
    const entry = button.closest('article') || document;
    for (const link of entry.querySelectorAll('a[data-remote-src]')) {
      const image = document.createElement('img');
      // The page's Content-Security-Policy allows https: images only; plain http is asked for over https.
      image.src = link.dataset.remoteSrc.replace(/^http:/i, 'https:');
      image.alt = link.textContent.replace(/^\[|\]$/g, '');
      image.referrerPolicy = 'no-referrer';
      link.replaceWith(image);
    }
    button.remove();
  });
})();

// Behaviour the pages used to write inline (the Content-Security-Policy forbids inline script):
// controls marked data-autosubmit submit their form on change; fields marked data-select-on-focus
// select their text when focused (a new API key's secret, to copy it).
document.addEventListener("change", (e) => {
  const el = e.target;
  if (el instanceof HTMLElement && el.matches("[data-autosubmit]") && el.form) el.form.submit();
});
document.addEventListener("focusin", (e) => {
  const el = e.target;
  if (el instanceof HTMLInputElement && el.matches("[data-select-on-focus]")) el.select();
});

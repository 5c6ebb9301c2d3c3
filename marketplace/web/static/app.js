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

// After a sign-in that interrupted a form (the session had ended), the server hands back what was
// typed; fill it in again. Only fields of this page's forms, never hidden ones.
document.addEventListener("DOMContentLoaded", () => {
  const kept = document.body.dataset.resume;
  if (!kept) return;
  let fields;
  try { fields = JSON.parse(kept); } catch { return; }
  for (const [name, value] of Object.entries(fields)) {
    for (const el of document.querySelectorAll(`main form [name="${CSS.escape(name)}"]`)) {
      if (el.type === "hidden" || el.type === "password" || el.type === "file") continue;
      if (el.type === "checkbox" || el.type === "radio") el.checked = el.value === value;
      else el.value = value;
    }
  }
});

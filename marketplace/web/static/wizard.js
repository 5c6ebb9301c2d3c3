// The provenance form: "Add another source" clones the last source block with fresh field names.
(function () {
  var btn = document.getElementById("add-source"), count = document.getElementById("source-count");
  if (!btn || !count) return;
  btn.addEventListener("click", function () {
    var blocks = document.querySelectorAll("fieldset.source"), last = blocks[blocks.length - 1];
    var n = blocks.length, copy = last.cloneNode(true);
    copy.id = "source-" + n;
    copy.querySelector("legend").textContent = "Source " + (n + 1);
    copy.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v) el.setAttribute(a, v.replace(/^(f-)?s\d+_/, function (m, f) { return (f || "") + "s" + n + "_"; }));
      });
      el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby");
      if (el.tagName === "INPUT") el.value = ""; else if (el.tagName === "SELECT") el.selectedIndex = el.name.endsWith("_relation") ? 0 : 0;
    });
    copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    last.after(copy);
    count.value = n + 1;
    copy.querySelector("select").focus();
  });
})();

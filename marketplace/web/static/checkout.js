// Shows the order total as the quantity changes (the server computes the real price again).
(function () {
  var out = document.getElementById("total"), qty = document.getElementById("quantity");
  if (!out || !qty) return;
  var tiers = JSON.parse(out.dataset.tiers), cur = out.dataset.currency;
  function update() {
    var q = parseInt(qty.value, 10), unit = tiers[0][1];
    if (!(q > 0)) { out.textContent = "–"; return; }
    tiers.forEach(function (t) { if (q >= t[0]) unit = t[1]; });
    out.textContent = (unit * q / 100).toLocaleString("en", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " " + cur;
  }
  qty.addEventListener("input", update);
  update();
})();

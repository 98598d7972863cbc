/* Small behaviours any page may ask for with a data attribute (the Content-Security-Policy allows no
   inline script, so none sits in a template):
   - data-check-all="NAME" on a checkbox ticks or clears every checkbox named NAME of the page;
   - data-print on a button prints the page;
   - data-select-on-focus on a text box selects its text when it gets focus, so the next scan of a
     barcode replaces the last one instead of being appended to it. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.matches("input[type=checkbox][data-check-all]")) {
      document.querySelectorAll('input[type=checkbox][name="' + target.dataset.checkAll + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    } else if (target.closest("button[data-print]")) {
      window.print();
    }
  });
  document.addEventListener("focusin", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.hasAttribute("data-select-on-focus")) box.select();
  });
  // A box focused by `autofocus` before this script ran.
  var focused = document.activeElement;
  if (focused instanceof HTMLInputElement && focused.hasAttribute("data-select-on-focus")) focused.select();
})();

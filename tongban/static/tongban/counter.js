/* The counter workspace is one form (tongban/intake/views.py). Enter in a text field of an area
   marked data-enter-submits presses that area's own button (登记该指) instead of the form's first
   one (保存申请信息); an input method composing Chinese keeps its Enter. */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return;
    var field = event.target;
    if (!(field instanceof HTMLInputElement) || field.type === "file") return;
    var area = field.closest("[data-enter-submits]");
    var button = area ? document.getElementById(area.dataset.enterSubmits) : null;
    if (!button || !button.form) return;
    event.preventDefault();
    button.form.requestSubmit(button);
  });
})();

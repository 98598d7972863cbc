/* The counter workspace is one form (tongban/intake/views.py): every button saves the details
   typed before its own action. Two helps on top, for a browser with JavaScript:
   - Enter in a text field of an area marked data-enter-submits presses that area's own button
     (登记该指) instead of the form's first one (保存申请信息); an input method composing Chinese
     keeps its Enter;
   - once the details are edited, 确认受理 is offered even if the saved draft still lacks something:
     it saves them first, and the server says what is still missing. */
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

  var details = document.getElementById("details");
  var accept = document.getElementById("accept-submit");
  if (!details || !accept || !accept.disabled) return;
  details.addEventListener("input", function () {
    if (!accept.disabled) return;
    accept.disabled = false;
    var hint = document.getElementById("accept-hint");
    if (hint) hint.textContent = "申请信息已修改：确认受理时先保存，再检查是否齐备。";
  });
})();

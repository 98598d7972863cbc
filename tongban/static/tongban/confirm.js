/* Confirmation before destructive or outward actions (tongban/confirm.py describes the pattern).
   A submit button with data-confirm opens the page's <dialog>; 确定 posts the button's form through
   that same button with confirmed=1; 取消 or Esc change nothing. Without this script the server
   asks on a page of its own. */
(function () {
  "use strict";
  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var pending = null;

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button[data-confirm]") : null;
    if (!button || !button.form) return;
    event.preventDefault();
    if (!button.form.noValidate && !button.formNoValidate && !button.form.reportValidity()) return;
    var label = button.textContent.trim();
    pending = button;
    dialog.querySelector("#confirm-dialog-title").textContent = button.dataset.confirmTitle || label;
    dialog.querySelector("#confirm-dialog-question").textContent = button.dataset.confirm;
    dialog.querySelector("[data-confirm-ok]").textContent = button.dataset.confirmOk || label;
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", function () {
    var button = pending;
    pending = null;
    if (!button) return;
    if (dialog.returnValue !== "ok") {
      button.focus();
      return;
    }
    var flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = "confirmed";
    flag.value = "1";
    button.form.appendChild(flag);
    button.form.requestSubmit(button); // the form data is taken now, so the flag can go at once
    flag.remove();
  });
})();

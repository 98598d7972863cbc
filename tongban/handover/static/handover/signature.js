/* 领证人签名: the pad of the handover page (handover.html). Drawn with a pointer, sent as a PNG data
   URL in the hidden input the canvas names (data-input) when the form is submitted. */
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  if (!canvas) return;
  var input = document.getElementById(canvas.dataset.input);
  var ctx = canvas.getContext("2d");
  var drawing = false, signed = false;
  ctx.lineWidth = 2; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
  function point(event) {
    var box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  }
  canvas.addEventListener("pointerdown", function (event) {
    drawing = true; signed = true; var p = point(event); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; } var p = point(event); ctx.lineTo(p[0], p[1]); ctx.stroke();
  });
  canvas.addEventListener("pointerup", function () { drawing = false; });
  if (input.value.indexOf("data:image/png") === 0) {
    // The signature drawn before a refusal came back with the page: show it again, kept.
    var drawn = new Image();
    drawn.onload = function () { ctx.drawImage(drawn, 0, 0, canvas.width, canvas.height); };
    drawn.src = input.value; signed = true;
  }
  document.getElementById("signature-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); signed = false; input.value = "";
  });
  document.getElementById("handover-form").addEventListener("submit", function () {
    input.value = signed ? canvas.toDataURL("image/png") : "";
  });
})();

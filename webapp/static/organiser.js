/* Back office, progressive enhancement only: a form with data-confirm asks before it is sent.
   Without this script the form is sent at once, as any other. */
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

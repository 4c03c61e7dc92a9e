// Submits the form_post response (OAuth 2.0 Form Post Response Mode) as soon as the page loads.
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("form_post");
  if (f) { f.submit(); }
});

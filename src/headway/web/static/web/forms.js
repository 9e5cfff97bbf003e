// Key-result form: show only the fields that apply to the chosen kind.
// Without JavaScript every field stays visible and the server ignores those that do not apply.
(function () {
  "use strict";
  function update(form) {
    var select = form.querySelector("[data-kind-select]");
    if (!select) return;
    var kind = select.value;
    form.querySelectorAll("[data-kinds]").forEach(function (input) {
      var field = input.closest(".field");
      if (!field) return;
      var applies = input.getAttribute("data-kinds").split(" ").indexOf(kind) !== -1;
      field.hidden = !applies;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-kind-form]").forEach(function (form) {
      update(form);
      form.addEventListener("change", function (event) {
        if (event.target.matches("[data-kind-select]")) update(form);
      });
    });
  });
})();

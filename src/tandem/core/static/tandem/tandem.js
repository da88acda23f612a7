/* Tandem: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  // Forms with data-confirm ask before they submit (e.g. revoking a token).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Drop-down menus (<details data-menu>) close on a click elsewhere or on Escape.
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details[data-menu]") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  // Tickets checked for a bulk change stay checked when a filter refreshes a queue's
  // results (htmx replaces the table; a search is applied as one leaves the box, which may
  // be by clicking a checkbox), as long as the ticket is still listed.
  var checkedTickets = [];
  document.addEventListener("htmx:beforeSwap", function () {
    checkedTickets = Array.prototype.map.call(
      document.querySelectorAll('#ticket-results input[name="ticket_ids"]:checked'),
      function (box) { return box.value; }
    );
  });
  document.addEventListener("htmx:afterSwap", function () {
    checkedTickets.forEach(function (value) {
      var box = document.querySelector(
        '#ticket-results input[name="ticket_ids"][value="' + CSS.escape(value) + '"]'
      );
      if (box) box.checked = true;
    });
    checkedTickets = [];
  });

  // Copy buttons next to secrets shown once (API token, TOTP set-up link).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });

  // The event search reads times in the analyst's zone: when the page was opened without
  // one, the browser's zone replaces the tenant's default.
  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) input.value = zone;
    } catch (error) { /* keep the server's default */ }
  });
})();

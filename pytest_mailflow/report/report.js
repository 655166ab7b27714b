// The HTML report's only script (inlined; the page's Content-Security-Policy allows it by its hash).
// It opens the findings of a clicked matrix cell and filters rows; it reads nothing from the page's
// text, so no report data ever reaches it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function reveal(id, flash) {
    var group = document.getElementById(id);
    if (!group || group.tagName !== "DETAILS") {
      return;
    }
    group.open = true;
    if (flash) {
      group.classList.add("flash");
      setTimeout(function () { group.classList.remove("flash"); }, 1500);
    }
  }

  function setAll(open) {
    document.querySelectorAll("details.group").forEach(function (group) { group.open = open; });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-cell]");
    if (link) {
      reveal(link.getAttribute("data-cell"), true);
    }
  });
  window.addEventListener("hashchange", function () { reveal(location.hash.slice(1), true); });
  if (location.hash) {
    reveal(location.hash.slice(1), false);
  }

  var expand = document.getElementById("expand-all");
  var collapse = document.getElementById("collapse-all");
  var hidePassed = document.getElementById("hide-passed");
  if (expand) {
    expand.addEventListener("click", function () { setAll(true); });
  }
  if (collapse) {
    collapse.addEventListener("click", function () { setAll(false); });
  }
  if (hidePassed) {
    hidePassed.addEventListener("change", function () {
      document.body.classList.toggle("hide-passed", hidePassed.checked);
    });
  }
})();

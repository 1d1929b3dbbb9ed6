// Marks figure outputs wider than the page (course-scrolls), so that _static/course.css shows
// a hint that says "swipe sideways". They are wider because their text would otherwise be
// under 9 px (see _ext/course_html.py). Jupyter Book loads every .js file in _static/.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".course-figure-scroller").forEach(function (box) {
      box.classList.toggle("course-scrolls", box.scrollWidth > box.clientWidth + 1);
    });
  }
  function watch() {
    mark();
    document.querySelectorAll(".course-figure-scroller").forEach(function (box) {
      box.querySelectorAll("img").forEach(function (img) {
        if (!img.complete) img.addEventListener("load", mark);
      });
    });
    window.addEventListener("resize", mark);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();

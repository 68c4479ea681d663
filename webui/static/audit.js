/*
 * The as-of view's stepper: the slider jumps to the chosen event, the keys ← and → go to the
 * previous and next event (not while typing in a field), and the event list scrolls to the current
 * event. Each step is a page of its own (its state is rebuilt on the server), so links work without
 * this script too.
 */
(function () {
  "use strict";

  var stepper = document.getElementById("stepper");
  if (!stepper) {
    return;
  }
  var template = stepper.getAttribute("data-url");

  function go(seq) {
    window.location.assign(template.replace("{seq}", String(seq)));
  }

  var slider = document.getElementById("step-slider");
  if (slider) {
    slider.addEventListener("change", function () {
      if (slider.value !== stepper.getAttribute("data-seq")) {
        go(slider.value);
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing && target !== slider) {
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var link = null;
    if (event.key === "ArrowLeft") {
      link = document.getElementById("step-prev");
    } else if (event.key === "ArrowRight") {
      link = document.getElementById("step-next");
    }
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });

  var list = document.getElementById("event-list");
  var current = list && list.querySelector("tr.current");
  if (current) {
    list.scrollTop = current.offsetTop - list.clientHeight / 2;
  }
})();

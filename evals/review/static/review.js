// Keyboard shortcuts for the labelling page: digits answer the current question, s skips, u undoes,
// n moves to the note box (Esc leaves it). Each key clicks the page's own button, so the keyboard and
// the mouse post the same forms. Keys typed in the note box stay text.
"use strict";

(function () {
  let sending = false; // one post per page: a repeated key must not answer the next question blind

  function typing(element) {
    if (!element) return false;
    const tag = element.tagName;
    return tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" || element.isContentEditable;
  }

  function target(key) {
    if (/^[1-9]$/.test(key)) return document.querySelector('#current button[data-key="' + key + '"]');
    if (key === "s") return document.getElementById("skip");
    if (key === "u") return document.getElementById("undo");
    return null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (sending || event.ctrlKey || event.metaKey || event.altKey || event.isComposing || typing(event.target)) {
      return;
    }
    if (event.key === "n") {
      const note = document.getElementById("note");
      if (note) {
        event.preventDefault(); // the "n" itself is not typed into the box
        note.focus();
      }
      return;
    }
    const button = target(event.key);
    if (button) {
      event.preventDefault();
      sending = true;
      button.click();
    }
  });

  document.addEventListener("submit", function () { sending = true; });
  window.addEventListener("pageshow", function () { sending = false; });
})();

// The "Copy link" button on a clip's page. Progressive enhancement only: without this
// file (or without JavaScript) the page's address stays in a read-only box that can be
// selected and copied by hand. No inline script: this file is all there is.
(function () {
  "use strict";
  var input = document.getElementById("share-link");
  var button = document.getElementById("copy-link");
  var status = document.getElementById("copy-status");
  if (!input || !button || !status) {
    return;
  }

  function say(text) {
    status.textContent = text;
  }

  function copyBySelection() {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function done(copied) {
    say(copied ? "Link copied." : "The link could not be copied. It is selected above: copy it from there.");
    if (!copied) {
      input.focus();
      input.select();
    }
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    say("");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { done(true); },
        function () { done(copyBySelection()); }
      );
    } else {
      done(copyBySelection());
    }
  });
  // Selecting the whole address when the box gets focus makes copying it by hand easy.
  input.addEventListener("focus", function () {
    input.select();
  });
})();

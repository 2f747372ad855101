/* The phone upload page: a resumable tus upload with tus-js-client (window.tus).
 *
 * Festival wifi drops. tus-js-client retries by itself (retryDelays) and sends the file in
 * chunks, so a drop costs at most one chunk. When the phone says it is offline we stop
 * at once and carry on by ourselves when it is back online. The upload's address is kept
 * in localStorage, so after a reload choosing the same file carries on where it stopped.
 *
 * Configuration comes from data- attributes on the form (no inline script): endpoint,
 * csrfToken, slot, consent (the consent to link the clip to), chunkSize.
 */
(function () {
  "use strict";

  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
  var TRY_AGAIN_AFTER = 30000; // after tus-js-client's own retries have run out
  var STEP = 10; // announce progress to screen readers every 10%

  var form = document.getElementById("upload");
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var fileInput = $("upload-file");
  var fileError = $("upload-file-error");
  var earlier = $("upload-earlier");
  var startButton = $("upload-start");
  var pauseButton = $("upload-pause");
  var resumeButton = $("upload-resume");
  var progressArea = $("upload-progress-area");
  var progress = $("upload-progress");
  var numbers = $("upload-numbers");
  var spoken = $("upload-spoken");
  var message = $("upload-message");
  var problem = $("upload-problem");
  var done = $("upload-done");
  var another = $("upload-another");
  var festival = $("upload-festival");

  var config = form.dataset;
  var chunkSize = parseInt(config.chunkSize, 10) || 5 * 1024 * 1024;

  // idle | uploading | paused | waiting (for the network) | failed | done
  var state = "idle";
  var upload = null;
  var lastStep = -1;
  var tryAgainTimer = null;
  var retrying = false;

  /* A phone that locks its screen stops the upload: keep it awake while sending, where
     the browser allows it (the Screen Wake Lock API). */
  var wakeLock = null;
  function keepAwake(wanted) {
    if (!wanted) {
      if (wakeLock) wakeLock.release().catch(function () {});
      wakeLock = null;
      return;
    }
    if (wakeLock || !navigator.wakeLock || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").then(function (lock) {
      if (state === "uploading") wakeLock = lock;
      else lock.release().catch(function () {});
    }, function () {});
  }

  function size(bytes) {
    if (bytes >= 1000000) return (bytes / 1000000).toFixed(1) + " MB";
    return Math.ceil(bytes / 1000) + " KB";
  }

  function say(text) {
    message.textContent = text;
  }

  function showProblem(text) {
    problem.textContent = text;
  }

  /* Which controls show in which state. Focus never stays on a control that disappears:
     it moves to the one that took its place. */
  function setState(next) {
    var focused = document.activeElement;
    state = next;
    var busy = next === "uploading";
    var stopped = next === "paused" || next === "waiting" || next === "failed-retryable";
    startButton.hidden = busy || stopped || next === "done";
    pauseButton.hidden = !busy;
    resumeButton.hidden = !stopped;
    fileInput.disabled = busy;
    if (festival) festival.disabled = busy || stopped;
    done.hidden = next !== "done";
    keepAwake(busy);
    if (focused && focused !== document.body && (focused.hidden || focused.disabled)) {
      var target = [pauseButton, resumeButton, startButton].filter(function (b) {
        return !b.hidden;
      })[0];
      if (next === "done") target = done;
      if (target) target.focus();
    }
  }

  function showProgress(sent, total) {
    var percent = total ? Math.floor((sent / total) * 100) : 0;
    var text = percent + "% — " + size(sent) + " of " + size(total);
    progressArea.hidden = false;
    progress.value = percent;
    progress.textContent = percent + "%";
    progress.setAttribute("aria-valuetext", text);
    numbers.textContent = text;
    var step = Math.floor(percent / STEP);
    if (step > lastStep) {
      lastStep = step;
      spoken.textContent = text + " sent";
    }
  }

  function stopTryingAgain() {
    if (tryAgainTimer !== null) {
      clearTimeout(tryAgainTimer);
      tryAgainTimer = null;
    }
  }

  /* The server's own words from an RFC 9457 problem, when it sent one. */
  function serverWords(error) {
    var response = error && error.originalResponse;
    if (!response) return "";
    try {
      var body = JSON.parse(response.getBody() || "{}");
      return [body.detail, body.fix].filter(Boolean).join(" ");
    } catch (ignored) {
      return "";
    }
  }

  function statusOf(error) {
    var response = error && error.originalResponse;
    return response ? response.getStatus() : 0;
  }

  /* Worth trying again: no answer at all, a server error, or the upload busy or moved on
     (409, 423). Other 4xx answers will not change by asking again. */
  function retryable(error) {
    var status = statusOf(error);
    return status === 0 || status >= 500 || status === 409 || status === 423;
  }

  function waitForNetwork() {
    stopTryingAgain();
    setState("waiting");
    say("Waiting for the network… The upload will carry on by itself when your phone is back online.");
  }

  function onError(error) {
    if (state === "paused" || state === "done") return;
    if (!navigator.onLine) {
      waitForNetwork();
      return;
    }
    if (retryable(error)) {
      setState("failed-retryable");
      say("The festival server cannot be reached. Trying again in 30 seconds, or press Resume to try now.");
      stopTryingAgain();
      tryAgainTimer = setTimeout(function () {
        tryAgainTimer = null;
        resume("Trying again…");
      }, TRY_AGAIN_AFTER);
      return;
    }
    setState("failed");
    say("");
    var words = serverWords(error);
    showProblem(
      "The upload did not work. " + (words || "The festival server refused it (" + statusOf(error) + ").") +
      " Choose the video again to start a new upload, or ask festival staff for help."
    );
  }

  function onSuccess() {
    stopTryingAgain();
    upload = null;
    setState("done");
    say("Upload complete. Your clip is being made ready to play.");
    spoken.textContent = "";
    fileInput.value = "";
    earlier.hidden = true;
  }

  function metadata(file) {
    var meta = {
      filename: file.name || "clip",
      filetype: file.type || "application/octet-stream",
    };
    if (config.slot) meta.slot = config.slot;
    if (config.consent) meta.consent = config.consent;
    if (festival && festival.value) meta.festival = festival.value;
    return meta;
  }

  function makeUpload(file) {
    return new window.tus.Upload(file, {
      endpoint: config.endpoint,
      retryDelays: RETRY_DELAYS,
      chunkSize: chunkSize,
      metadata: metadata(file),
      headers: { "X-CSRFToken": config.csrfToken },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onShouldRetry: function (error) {
        if (!navigator.onLine || !retryable(error)) return false;
        retrying = true;
        say("The connection dropped. Trying again…");
        return true;
      },
      onProgress: function (sent, total) {
        if (retrying && state === "uploading") {
          retrying = false;
          say("Connected again. Uploading.");
        }
        showProgress(sent, total);
      },
      onError: onError,
      onSuccess: onSuccess,
    });
  }

  /* The newest earlier upload of this file that this browser remembers, if any. */
  function previousUpload(candidate) {
    return candidate.findPreviousUploads().then(function (found) {
      found.sort(function (a, b) {
        return String(b.creationTime).localeCompare(String(a.creationTime));
      });
      return found[0] || null;
    }, function () {
      return null;
    });
  }

  function start(file) {
    showProblem("");
    fileError.hidden = true;
    lastStep = 0;
    retrying = false;
    upload = makeUpload(file);
    var current = upload;
    setState("uploading");
    say("Starting the upload…");
    previousUpload(current).then(function (previous) {
      if (upload !== current) return;
      if (previous) current.resumeFromPreviousUpload(previous);
      if (state !== "uploading") return; // paused meanwhile: Resume starts it
      say(previous
        ? "Resuming your earlier upload of this file."
        : "Uploading. Keep this page open until it has finished.");
      current.start();
    });
  }

  function pause() {
    if (!upload || state !== "uploading") return;
    stopTryingAgain();
    setState("paused");
    upload.abort();
    say("Paused at " + (progress.value || 0) + "%. Press Resume to carry on.");
  }

  function resume(words) {
    if (!upload) return;
    stopTryingAgain();
    setState("uploading");
    say(words || "Resuming the upload.");
    upload.start();
  }

  function chosenFile() {
    return fileInput.files && fileInput.files[0];
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state === "uploading") return;
    var file = chosenFile();
    if (!file) {
      fileError.textContent = "Choose a video to upload first.";
      fileError.hidden = false;
      fileInput.setAttribute("aria-describedby", "upload-file-hint upload-file-error");
      fileInput.focus();
      return;
    }
    fileInput.setAttribute("aria-describedby", "upload-file-hint");
    start(file);
  });

  fileInput.addEventListener("change", function () {
    var file = chosenFile();
    fileError.hidden = true;
    showProblem("");
    if (state !== "idle") {
      // A new choice replaces an upload that was stopped: the stopped one stays on the
      // server until it expires, and choosing its file again carries it on.
      if (upload) upload.abort();
      upload = null;
      stopTryingAgain();
      setState("idle");
      progressArea.hidden = true;
      say("");
    }
    earlier.hidden = true;
    if (!file) return;
    previousUpload(makeUpload(file)).then(function (previous) {
      if (chosenFile() === file) earlier.hidden = !previous;
    });
  });

  pauseButton.addEventListener("click", pause);
  resumeButton.addEventListener("click", function () {
    if (!navigator.onLine) {
      waitForNetwork();
      return;
    }
    resume();
  });

  another.addEventListener("click", function () {
    setState("idle");
    say("");
    progressArea.hidden = true;
    fileInput.focus();
  });

  window.addEventListener("offline", function () {
    if (state !== "uploading" && state !== "failed-retryable") return;
    // Stop now rather than spend the retries while there is no network at all.
    if (upload) upload.abort();
    waitForNetwork();
  });

  document.addEventListener("visibilitychange", function () {
    // The browser lets go of the wake lock when the page is hidden; take it again.
    wakeLock = null;
    keepAwake(state === "uploading");
  });

  window.addEventListener("online", function () {
    if (state === "waiting" || state === "failed-retryable") resume("Back online. Carrying on with the upload.");
  });

  if (!window.tus || !window.tus.isSupported) {
    form.hidden = false;
    startButton.disabled = true;
    fileInput.disabled = true;
    showProblem(
      "The uploader could not load" + (window.tus ? " in this browser" : "") +
      ". Reload the page to try again, or ask festival staff for help."
    );
    return;
  }
  form.hidden = false;
})();

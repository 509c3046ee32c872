/* The check-in page, progressive enhancement (the page works without it, with plain forms):
   - a camera scanner: on the organiser's click only, the camera's images are read by the vendored
     ZXing decoder (static/vendor/zxing-library); a code read is checked in at once;
   - a queue of check-ins kept in localStorage: a check-in that cannot reach the server (no network,
     server down) is shown as pending and sent again (when the browser is back online, and every few
     seconds) until the server has stored it. Each check-in carries its own request id, so a check-in
     sent twice (an answer lost on the way) is still one arrival, answered as a success.
   window.EmgavCheckin is what the scanner calls (checkInCode), and the decoder (decodeImageData,
   decodeImage), also used by the tests. */
(function () {
  "use strict";

  var RETRY_MS = 3000;
  var SCAN_MS = 250;

  /* --- Decoding a QR code in an image (no page needed). --- */

  function decodeImageData(imageData) {
    /* The text of the QR code in `imageData` (from a canvas), or null when none is found. */
    var pixels = imageData.data;
    var luminances = new Uint8ClampedArray(imageData.width * imageData.height);
    for (var i = 0, j = 0; j < luminances.length; i += 4, j += 1) {
      luminances[j] = (pixels[i] * 299 + pixels[i + 1] * 587 + pixels[i + 2] * 114) / 1000;
    }
    var source = new ZXing.RGBLuminanceSource(luminances, imageData.width, imageData.height);
    var bitmap = new ZXing.BinaryBitmap(new ZXing.HybridBinarizer(source));
    var hints = new Map([[ZXing.DecodeHintType.TRY_HARDER, true]]);
    try {
      return new ZXing.QRCodeReader().decode(bitmap, hints).getText();
    } catch (error) {
      return null;  // no code in this image (NotFoundException, ChecksumException, FormatException)
    }
  }

  function decodeImage(url) {
    /* A promise of the text of the QR code in the image at `url` (null when none). */
    return new Promise(function (resolve, reject) {
      var image = new Image();
      image.onload = function () {
        var canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        var context = canvas.getContext("2d");
        context.fillStyle = "#ffffff";
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(image, 0, 0);
        resolve(decodeImageData(context.getImageData(0, 0, canvas.width, canvas.height)));
      };
      image.onerror = reject;
      image.src = url;
    });
  }

  var api = {decodeImageData: decodeImageData, decodeImage: decodeImage};
  window.EmgavCheckin = api;

  var root = document.getElementById("checkin");
  if (!root) {
    return;
  }
  var texts = root.dataset;
  var storageKey = "emgav-checkins-" + root.dataset.event;

  function text(name, code) {
    return (texts[name] || "").replace("{code}", code || "");
  }

  /* --- The queue: every check-in sent from this device, with its state. --- */

  function load() {
    try {
      return JSON.parse(window.localStorage.getItem(storageKey)) || [];
    } catch (error) {
      return [];
    }
  }

  function save(items) {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(items.slice(-50)));
    } catch (error) {
      /* storage full or refused: the list on the screen is still right */
    }
  }

  function update(requestId, changes) {
    var items = load();
    items.forEach(function (item) {
      if (item.requestId === requestId) {
        Object.assign(item, changes);
      }
    });
    save(items);
    render();
  }

  var stateTexts = {sending: "textSending", pending: "textPending", stored: "textStored", warning: "textWarning"};

  function render() {
    var items = load();
    var section = root.querySelector("[data-queue]");
    var list = root.querySelector("[data-queue-list]");
    list.textContent = "";
    items.slice().reverse().forEach(function (item) {
      var line = document.createElement("li");
      line.className = "checkin-queue-" + item.state;
      line.dataset.state = item.state;
      line.textContent = (item.name || text("textCode", item.code)) + " : " + text(stateTexts[item.state]);
      list.appendChild(line);
    });
    section.hidden = items.length === 0;
  }

  function showAnswer(answer) {
    /* The server's answer about a person: message, then name, organisation, workshops, warnings. */
    var section = root.querySelector("[data-result]");
    var title = section.querySelector("h2");
    var body = section.querySelector("[data-result-body]");
    body.textContent = "";
    section.classList.toggle("checkin-card-warning", answer.outcome !== "checked_in");
    var message = document.createElement("p");
    message.className = answer.outcome === "checked_in" ? "checkin-done" : "checkin-warning-message";
    message.textContent = answer.message;
    var person = answer.person;
    title.textContent = person ? person.name : answer.message;
    if (person) {
      var facts = document.createElement("p");
      facts.textContent = [person.organisation, person.status].filter(Boolean).join(" · ");
      var workshops = document.createElement("p");
      workshops.textContent = text("textWorkshops") + " " + (person.workshops.join(", ") || "—");
      var link = document.createElement("a");
      link.href = person.url;
      link.textContent = text("textOpen");
      body.append(message, facts, workshops, link);
    } else {
      body.append(message);
    }
    section.hidden = false;
    title.focus();
  }

  function send(item) {
    /* POST one check-in; resolves once it has an answer, or once it is known to be pending. */
    var form = new FormData();
    form.append("csrf_token", root.dataset.csrfToken);
    form.append("code", item.code);
    form.append("request_id", item.requestId);
    return fetch(root.dataset.checkInUrl, {
      method: "POST", body: form, credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (response) {
      if (response.status >= 500) {
        throw new Error("server unavailable: " + response.status);
      }
      return response.json().then(function (answer) {
        update(item.requestId, {
          state: answer.outcome === "checked_in" ? "stored" : "warning",
          name: answer.person ? answer.person.name : item.name
        });
        return answer;
      });
    }).catch(function (error) {
      if (error instanceof SyntaxError) {  // an answer that is not JSON (a login page, an expired form)
        window.location.reload();
        return null;
      }
      update(item.requestId, {state: "pending"});
      return null;
    });
  }

  function newRequestId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function checkIn(code, name, requestId) {
    /* Check the person with this code in: queued first, then sent. Resolves with the server's
       answer (shown on the page), or null while it is pending. */
    var item = {code: code, name: name || "", requestId: requestId || newRequestId(), state: "sending"};
    var items = load().filter(function (other) { return other.requestId !== item.requestId; });
    items.push(item);
    save(items);
    render();
    return send(item).then(function (answer) {
      if (answer) {
        showAnswer(answer);
      }
      return answer;
    });
  }

  var retrying = false;

  function retryPending() {
    if (retrying) {
      return Promise.resolve();
    }
    var pending = load().filter(function (item) { return item.state === "pending"; });
    if (!pending.length) {
      return Promise.resolve();
    }
    retrying = true;
    return pending.reduce(function (previous, item) {
      return previous.then(function () { return send(item); });
    }, Promise.resolve()).then(function () { retrying = false; });
  }

  api.checkInCode = checkIn;
  api.retryPending = retryPending;

  /* The card's button: the same check-in, through the queue; once stored, the card is shown again. */
  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-check-in")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    checkIn(form.elements.code.value, button.dataset.name, form.elements.request_id.value).then(function (answer) {
      if (answer && answer.person) {
        window.location.assign(answer.person.url);
      }
    });
  });

  window.addEventListener("online", retryPending);
  window.setInterval(retryPending, RETRY_MS);
  // What was left pending when the page was closed.
  load().forEach(function (item) {
    if (item.state === "sending") {
      item.state = "pending";
    }
  });
  render();
  retryPending();

  /* --- The camera scanner: started by the organiser only. --- */

  var scanner = root.querySelector(".checkin-scanner");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof ZXing === "undefined") {
    return;
  }
  scanner.hidden = false;
  var video = scanner.querySelector("video");
  var startButton = scanner.querySelector("[data-scan-start]");
  var stopButton = scanner.querySelector("[data-scan-stop]");
  var status = scanner.querySelector("[data-scan-status]");
  var canvas = document.createElement("canvas");
  var stream = null;
  var timer = null;
  var lastCode = null;
  var lastAt = 0;

  function stop() {
    window.clearInterval(timer);
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    video.hidden = stopButton.hidden = true;
    startButton.hidden = false;
  }

  function scan() {
    if (video.readyState < 2 || !video.videoWidth) {
      return;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    var context = canvas.getContext("2d", {willReadFrequently: true});
    context.drawImage(video, 0, 0);
    var code = decodeImageData(context.getImageData(0, 0, canvas.width, canvas.height));
    // The same code still in front of the camera is not checked in again and again.
    if (code && (code !== lastCode || Date.now() - lastAt > 5000)) {
      lastCode = code;
      lastAt = Date.now();
      status.textContent = text("textRead", code);
      checkIn(code);
    }
  }

  startButton.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = stopButton.hidden = false;
      startButton.hidden = true;
      status.textContent = text("textAim");
      return video.play();
    }).then(function () {
      timer = window.setInterval(scan, SCAN_MS);
    }).catch(function () {
      stop();
      status.textContent = text("textNoCamera");
    });
  });
  stopButton.addEventListener("click", stop);
})();

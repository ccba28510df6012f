// Live preview of the template editor: every edit or scenario change is rendered by the
// server (POST …/preview with the page's CSRF token) after a short pause; no build step.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  var controls = document.getElementById("preview-controls");
  if (!form || !controls) return;
  var DELAY = 250;
  var csrf = form.querySelector("input[name=csrf]").value;
  var status = document.getElementById("preview-status");
  var timer = null;
  var sent = 0;

  function field(id) { var el = document.getElementById(id); return el ? el.value : ""; }

  function body() {
    var data = new URLSearchParams();
    form.querySelectorAll("textarea[data-file]").forEach(function (area) {
      data.append(area.name, area.value);
    });
    data.append("scenario", field("scenario"));
    data.append("language", field("preview-language"));
    data.append("at", field("moment"));
    return data;
  }

  function text(id, value) { document.getElementById(id).textContent = value; }

  function problems(list) {
    var box = document.getElementById("preview-problems");
    box.textContent = "";
    if (!list.length) return;
    var ul = document.createElement("ul");
    ul.className = "problems";
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.file + (p.line ? ", " + p.line : "") + (p.scenario ? " — " + p.scenario : "") + " — " + p.message;
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  function variables(rows) {
    var tbody = document.querySelector("#variables tbody");
    if (!tbody || !rows.length) return;
    tbody.textContent = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.appendChild(document.createElement("code")).textContent = row[0];
      var td = document.createElement("td");
      td.appendChild(document.createElement("code")).textContent = row[1];
      tr.appendChild(th);
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
  }

  function show(data, number) {
    text("preview-subject", data.subject);
    text("preview-text", data.text);
    document.getElementById("preview-html").srcdoc = data.html;
    problems(data.problems);
    variables(data.variables);
    status.textContent = status.textContent.replace(/:.*$/, ": " + (data.scenario || field("scenario")));
    status.dataset.rendered = String(number);
  }

  function update() {
    var number = ++sent;
    fetch(form.dataset.preview, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: body()
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      return response.json();
    }).then(function (data) {
      if (number === sent) show(data, number);  // an older answer never overwrites a newer one
    }).catch(function (error) {
      if (number === sent) status.textContent = error.message;
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, DELAY);
  }

  form.addEventListener("input", later);
  controls.addEventListener("input", later);
  controls.addEventListener("change", later);
})();

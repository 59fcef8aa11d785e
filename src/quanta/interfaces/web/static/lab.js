// The data lab's small helpers: Ctrl+Enter runs, names from the schema browser go into the editor,
// and saved queries live in this browser's localStorage, per principal (no server state).
(function () {
  "use strict";
  var editor = document.getElementById("sql");
  var run = document.getElementById("run");
  if (!editor || !run) return;
  var key = "quanta.saved." + (document.body.dataset.principal || "local");

  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run.click();
    }
  });

  document.querySelectorAll("button.insert").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.dataset.insert;
      var start = editor.selectionStart, end = editor.selectionEnd;
      editor.setRangeText(text, start, end, "end");
      editor.focus();
    });
  });

  function load() {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }

  function store(list) { localStorage.setItem(key, JSON.stringify(list)); }

  function show() {
    var list = document.getElementById("saved");
    var saved = load();
    list.textContent = "";
    if (!saved.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "None yet.";
      list.appendChild(none);
      return;
    }
    saved.forEach(function (query, index) {
      var item = document.createElement("li");
      var open = document.createElement("button");
      open.type = "button";
      open.className = "link";
      open.textContent = query.name;
      open.title = query.sql;
      open.addEventListener("click", function () { editor.value = query.sql; editor.focus(); });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link muted small";
      remove.textContent = "remove";
      remove.setAttribute("aria-label", "Remove saved query " + query.name);
      remove.addEventListener("click", function () {
        var all = load();
        all.splice(index, 1);
        store(all);
        show();
      });
      item.append(open, " ", remove);
      list.appendChild(item);
    });
  }

  document.getElementById("save").addEventListener("click", function () {
    var field = document.getElementById("save-name");
    var sql = editor.value.trim();
    if (!sql) { editor.focus(); return; }
    var name = field.value.trim() || sql.slice(0, 40);
    var all = load().filter(function (q) { return q.name !== name; });
    all.unshift({ name: name, sql: sql });
    store(all.slice(0, 50));
    field.value = "";
    show();
  });

  show();
})();

/*
 * Table rows of the forms rendered by webui/forms_html.py: "add row" and "remove". Plain JS, no build.
 *
 * A table (class form-table) has data-name (the bracket name of its array, e.g. "nominees"),
 * data-path (its field path) and an id (e.g. "f-nominees"). Every row (tr[data-row]) has data-index;
 * its controls are named name[i][...], with data-path path[i]... and ids id-i-... . A hidden template
 * row (tr[data-template], index "__index__", every control disabled so it is never submitted) is
 * cloned by "add row" (button[data-form-add="<table id>"]); "remove" (button[data-form-remove])
 * deletes its row. Afterwards the rows are numbered again 0, 1, 2, ... so the names stay dense and in
 * order; the server reads rows in index order and ignores the template.
 *
 * Event delegation on the document: works for forms inserted later (htmx) and is safe to load twice.
 */
(function () {
  "use strict";
  if (window.cadreflowFormRows) {
    return;
  }

  var TEMPLATE_INDEX = "__index__";
  var ID_ATTRIBUTES = ["id", "for", "aria-describedby", "aria-labelledby", "data-form-add"];

  function replacePrefix(value, from, to) {
    return value.indexOf(from) === 0 ? to + value.slice(from.length) : value;
  }

  function replaceIdToken(token, from, to) {
    if (token === from) {
      return to;
    }
    if (token.indexOf(from + "-") === 0 || token.indexOf(from + "__") === 0) {
      return to + token.slice(from.length);
    }
    return token;
  }

  /* Rename every name, data-path and id inside `row` from index `from` to index `to` of `table`. */
  function renumber(table, row, from, to) {
    var name = table.getAttribute("data-name");
    var path = table.getAttribute("data-path");
    var nameFrom = name + "[" + from + "]";
    var nameTo = name + "[" + to + "]";
    var pathFrom = path + "[" + from + "]";
    var pathTo = path + "[" + to + "]";
    var idFrom = table.id + "-" + from;
    var idTo = table.id + "-" + to;
    var elements = [row].concat(Array.prototype.slice.call(row.querySelectorAll("*")));
    elements.forEach(function (el) {
      ["name", "data-name"].forEach(function (attr) {
        if (el.hasAttribute(attr)) {
          el.setAttribute(attr, replacePrefix(el.getAttribute(attr), nameFrom, nameTo));
        }
      });
      ["data-path", "data-error-for", "data-field"].forEach(function (attr) {
        if (el.hasAttribute(attr)) {
          el.setAttribute(attr, replacePrefix(el.getAttribute(attr), pathFrom, pathTo));
        }
      });
      ID_ATTRIBUTES.forEach(function (attr) {
        if (el.hasAttribute(attr)) {
          var tokens = el.getAttribute(attr).split(/\s+/).map(function (token) {
            return replaceIdToken(token, idFrom, idTo);
          });
          el.setAttribute(attr, tokens.join(" "));
        }
      });
    });
    row.setAttribute("data-index", String(to));
    var number = row.querySelector(".form-row-number");
    if (number && number.closest("tr") === row) {
      number.textContent = String(to + 1);
    }
  }

  function rowsOf(table) {
    var body = table.tBodies[0];
    return Array.prototype.filter.call(body ? body.children : [], function (tr) {
      return tr.hasAttribute("data-row");
    });
  }

  function renumberAll(table) {
    rowsOf(table).forEach(function (row, position) {
      var current = row.getAttribute("data-index");
      if (current !== String(position)) {
        renumber(table, row, current, position);
      }
    });
  }

  function addRow(table) {
    var body = table.tBodies[0];
    var template = body.querySelector(":scope > tr[data-template]");
    if (!template) {
      return null;
    }
    var row = template.cloneNode(true);
    // Enable the clone's own controls; those of templates nested inside it stay disabled.
    row.querySelectorAll("input, select, textarea, button").forEach(function (el) {
      if (el.closest("tr[data-template]") === row) {
        el.disabled = false;
      }
    });
    row.removeAttribute("data-template");
    row.removeAttribute("hidden");
    row.classList.remove("form-template");
    row.setAttribute("data-row", "");
    renumber(table, row, TEMPLATE_INDEX, rowsOf(table).length);
    body.insertBefore(row, template);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) {
      first.focus();
    }
    table.dispatchEvent(new CustomEvent("form:rows-changed", { bubbles: true, detail: { added: row } }));
    return row;
  }

  function removeRow(row) {
    var table = row.closest("table.form-table");
    var add = table && document.querySelector('[data-form-add="' + table.id + '"]');
    row.remove();
    if (!table) {
      return;
    }
    renumberAll(table);
    if (add) {
      add.focus();
    }
    table.dispatchEvent(new CustomEvent("form:rows-changed", { bubbles: true, detail: { removed: true } }));
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    var add = target.closest("[data-form-add]");
    if (add && !add.disabled) {
      var table = document.getElementById(add.getAttribute("data-form-add"));
      if (table) {
        event.preventDefault();
        addRow(table);
      }
      return;
    }
    var remove = target.closest("[data-form-remove]");
    if (remove && !remove.disabled) {
      var row = remove.closest("tr[data-row]");
      if (row) {
        event.preventDefault();
        removeRow(row);
      }
    }
  });

  window.cadreflowFormRows = { addRow: addRow, removeRow: removeRow, renumber: renumberAll };
})();

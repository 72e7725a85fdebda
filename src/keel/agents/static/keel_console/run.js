// The run page: follow the run's event stream and show it as it happens.
//
// Events are numbered 1, 2, 3... without gaps. Each is applied once: after any
// reconnect, an event numbered at or below the last one applied is a repeat and is
// dropped, so text is never shown twice. The browser reconnects by itself with
// Last-Event-ID when a stream drops; when it gives up (a 502 from the load balancer
// while the web role restarts), this script reconnects with ?after=, which the
// server reads the same way.
//
// A status event with "resumed": true means a worker died and another took the run
// over. If it died in the middle of a model request, that request is made again and
// its tokens streamed again (docs/agents.md): the text of the response in progress is
// replaced by the next token. If instead a tool call or the final status comes next,
// the response had completed and its text stays.
"use strict";

(function () {
  const root = document.getElementById("run");
  if (!root) {
    return;
  }
  const eventsUrl = root.dataset.eventsUrl;
  const transcript = document.getElementById("transcript");
  const badge = document.getElementById("status");
  const connection = document.getElementById("connection");
  const errorBox = document.getElementById("error");
  const cancelForm = document.getElementById("cancel-form");
  const FINISHED = new Set(["succeeded", "failed", "cancelled", "timed_out"]);
  const EVENT_TYPES = ["token", "tool_call", "tool_result", "status"];
  const FIRST_RETRY_MS = 1000;
  const LAST_RETRY_MS = 10000;

  let last = 0;
  let text = null;
  let superseded = false;
  let finished = false;
  let source = null;
  let retryMs = FIRST_RETRY_MS;
  const cards = new Map();

  function setStatus(status) {
    badge.textContent = status;
    badge.dataset.status = status;
  }

  function onToken(payload) {
    if (superseded) {
      if (text) {
        text.node.data = "";
      }
      superseded = false;
    }
    if (!text) {
      const block = document.createElement("p");
      block.className = "text";
      const node = document.createTextNode("");
      block.append(node);
      transcript.append(block);
      text = { block: block, node: node };
    }
    text.node.appendData(payload.text);
  }

  function card(payload) {
    let found = cards.get(payload.call_id);
    if (found) {
      return found;
    }
    const article = document.createElement("article");
    article.className = "tool";
    article.dataset.callId = payload.call_id;
    article.dataset.state = "running";
    const heading = document.createElement("h3");
    heading.textContent = "Tool call: " + payload.tool;
    const argsLabel = document.createElement("p");
    argsLabel.className = "label";
    argsLabel.textContent = "Arguments";
    const args = document.createElement("pre");
    args.className = "args";
    const state = document.createElement("p");
    state.className = "state";
    state.textContent = "Running…";
    const result = document.createElement("pre");
    result.className = "result";
    result.hidden = true;
    article.append(heading, argsLabel, args, state, result);
    transcript.append(article);
    found = { article: article, args: args, state: state, result: result };
    cards.set(payload.call_id, found);
    return found;
  }

  function endTextBlock() {
    text = null;
    superseded = false;
  }

  function onToolCall(payload) {
    endTextBlock();
    card(payload).args.textContent = JSON.stringify(payload.args, null, 2);
  }

  function onToolResult(payload) {
    endTextBlock();
    const found = card(payload);
    found.state.textContent = "Result";
    found.result.textContent = payload.content;
    found.result.hidden = false;
    found.article.dataset.state = "done";
  }

  function onStatus(payload) {
    setStatus(payload.status);
    if (payload.resumed) {
      superseded = true;
    }
    if (payload.error) {
      errorBox.textContent = payload.error;
      errorBox.hidden = false;
    }
    if (FINISHED.has(payload.status)) {
      finish();
    }
  }

  function finish() {
    finished = true;
    superseded = false;
    if (source) {
      source.close();
    }
    connection.textContent = "";
    transcript.setAttribute("aria-busy", "false");
    if (cancelForm) {
      cancelForm.remove();
    }
  }

  function apply(message) {
    const event = JSON.parse(message.data);
    if (event.sequence <= last) {
      return;
    }
    last = event.sequence;
    root.dataset.lastEvent = String(last);
    if (event.type === "token") {
      onToken(event.payload);
    } else if (event.type === "tool_call") {
      onToolCall(event.payload);
    } else if (event.type === "tool_result") {
      onToolResult(event.payload);
    } else if (event.type === "status") {
      onStatus(event.payload);
    }
  }

  function connect() {
    if (finished) {
      return;
    }
    source = new EventSource(last > 0 ? eventsUrl + "?after=" + last : eventsUrl);
    EVENT_TYPES.forEach(function (type) {
      source.addEventListener(type, apply);
    });
    source.addEventListener("open", function () {
      retryMs = FIRST_RETRY_MS;
      connection.textContent = "";
      root.dataset.connected = "true";
    });
    source.addEventListener("error", function () {
      if (finished) {
        return;
      }
      root.dataset.connected = "false";
      connection.textContent = "Connection lost; reconnecting…";
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
      }
    });
  }

  if (cancelForm) {
    cancelForm.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      const button = cancelForm.querySelector("button");
      button.disabled = true;
      button.textContent = "Cancelling…";
      fetch(cancelForm.action, {
        method: "POST",
        body: new FormData(cancelForm),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("the server answered " + response.status);
          }
          return response.json();
        })
        .then(function (run) {
          setStatus(run.status);
        })
        .catch(function (problem) {
          button.disabled = false;
          button.textContent = "Cancel run";
          errorBox.textContent = "Cancelling failed: " + problem.message;
          errorBox.hidden = false;
        });
    });
  }

  connect();
})();

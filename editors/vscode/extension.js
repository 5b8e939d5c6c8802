// The resdsl extension: highlighting comes from syntaxes/res.tmLanguage.json; everything else
// (diagnostics as you type, hover, completion, go to definition, the outline, quick fixes)
// from `resdsl lsp`, which this starts for .res files and speaks to over stdio.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("resdsl").get("server.command", "resdsl");
  const serverOptions = { command, args: ["lsp"], transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "res" }],
  };
  client = new LanguageClient("resdsl", "resdsl", serverOptions, clientOptions);
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

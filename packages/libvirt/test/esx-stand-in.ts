// A stand-in for the SOAP service of a VMware ESXi host (/sdk), for tests: no ESXi host can exist
// here. It speaks just enough of the vSphere API for libvirt's esx driver to get as far as Login:
// it answers RetrieveServiceContent like an ESXi 7.0 host, and refuses every other call with the
// fault a real host gives for a wrong password. Each request body is appended to the log file
// (one JSON line each), so a test can see what libvirt sent.
//
//   node esx-stand-in.js LOGFILE   → prints the TCP port it listens on (127.0.0.1, plain HTTP)
import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const logFile = process.argv[2];
if (logFile === undefined) throw new Error("usage: esx-stand-in.js LOGFILE");

function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ' +
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

// libvirt's deserializer rejects text nodes between elements, so no whitespace between tags.
const SERVICE_CONTENT =
  '<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval>' +
  '<rootFolder type="Folder">ha-folder-root</rootFolder>' +
  '<propertyCollector type="PropertyCollector">ha-property-collector</propertyCollector>' +
  "<about><name>VMware ESXi</name><fullName>VMware ESXi 7.0.0 build-1</fullName>" +
  "<vendor>VMware, Inc.</vendor><version>7.0.0</version><build>1</build>" +
  "<localeVersion>INTL</localeVersion><localeBuild>000</localeBuild><osType>vmnix-x86</osType>" +
  "<productLineId>embeddedEsx</productLineId><apiType>HostAgent</apiType>" +
  "<apiVersion>7.0</apiVersion></about>" +
  '<sessionManager type="SessionManager">ha-sessionmgr</sessionManager>' +
  "</returnval></RetrieveServiceContentResponse>";

const INVALID_LOGIN_MESSAGE = "Cannot complete login due to an incorrect user name or password.";

const INVALID_LOGIN_FAULT =
  "<soapenv:Fault><faultcode>ServerFaultCode</faultcode>" +
  `<faultstring>${INVALID_LOGIN_MESSAGE}</faultstring>` +
  '<detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"/></detail>' +
  "</soapenv:Fault>";

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    appendFileSync(logFile, JSON.stringify({ url: request.url, body }) + "\n");
    const isServiceContent = body.includes("<RetrieveServiceContent ");
    response.writeHead(isServiceContent ? 200 : 500, { "Content-Type": "text/xml; charset=utf-8" });
    response.end(envelope(isServiceContent ? SERVICE_CONTENT : INVALID_LOGIN_FAULT));
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});

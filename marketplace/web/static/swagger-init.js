// Swagger UI for /api/v1/openapi.json, from the swagger-ui-bundle package served by this server
// (a file, not an inline script: the page keeps the strict content-security policy).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    tagsSorter: "alpha",
    operationsSorter: "alpha",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});

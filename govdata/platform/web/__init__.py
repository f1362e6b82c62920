"""The shared web layer: templates, layout, static files, CSRF, form errors, SVG charts and
HTML error pages, used by every part that serves pages (the console, the open portal).

The kernel knows no part: a part's templates are found by name (``console/home.html`` is
``govdata/console/templates/console/home.html``), its static files under ``/static/<part>/``.
"""

from govdata.platform.web.csrf import CSRF_FIELD, CsrfRejected, csrf_protect
from govdata.platform.web.errors import Redirect, error_page, redirect_response, wants_html
from govdata.platform.web.forms import FormErrors, form_errors
from govdata.platform.web.static import router as static_router
from govdata.platform.web.templating import render, templates

__all__ = ["CSRF_FIELD", "CsrfRejected", "FormErrors", "Redirect", "csrf_protect",
           "error_page", "form_errors", "redirect_response", "render", "static_router",
           "templates", "wants_html"]

package console

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static/localtime.js
var localTimeScript []byte

// localTime serves the script that shows the times of a page (each
// <time datetime="..." data-local>) in the browser's time zone.
func (h *Handler) localTime(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", localTimeScript)
}

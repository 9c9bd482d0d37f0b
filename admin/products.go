package admin

// productRoutes lists the endpoints of this file.
func (h *Handler) productRoutes() []Route { return nil }

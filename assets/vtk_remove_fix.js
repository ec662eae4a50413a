// Two fixes for Panel's synchronised VTK view (the 3D regime map), run once the page is ready.
//
// 1. It deletes its vtk.js render window and then, in its base class, asks that deleted
//    window for its interactor ("Cannot read properties of undefined (reading
//    'getInteractor')", holoviz/panel#5809). The error escapes from remove(), so a page that
//    removes the 3D view (another tab opened) stops rendering. Release in the base class's
//    order instead: interactor, render window, then the box (once).
// 2. It makes its vtk.js render window, and sizes and draws its WebGL buffers, while its
//    element is not yet on screen (0 x 0 px): the browser reports GL_INVALID_VALUE /
//    "Framebuffer is incomplete: Attachment has zero size" warnings for every frame. Make the
//    render window once the element is on screen with a size (checked every animation frame),
//    and resize or draw it only while it is shown (the app hides the 3D map instead of
//    removing it when another tab opens).
(function () {
  const model = Bokeh.Models.get("panel.models.vtk.VTKSynchronizedPlot");
  if (model == null) return;
  const view = model.prototype.default_view;
  if (view.prototype.__atlas_fixed) return;
  const base = Object.getPrototypeOf(view.prototype);   // AbstractVTKPlotView
  const box = Object.getPrototypeOf(base);              // the HTML box view below it

  view.prototype.remove = function () {
    this._atlas_removed = true;
    if (this._vtk_renwin != null) {
      base.remove.call(this);                           // interactor, window, box
      this._vtk_renwin = null;
    } else {
      box.remove.call(this);
    }
  };

  // build the vtk.js render window only once the element is on screen with a size
  const ready = (v) => v.el.isConnected && v.el.clientWidth > 0 && v.el.clientHeight > 0;
  view.prototype.render = function () {
    if (ready(this)) {
      base.render.call(this);
      return;
    }
    box.render.call(this);                              // an empty box for now
    const tick = () => {
      if (this._atlas_removed) return;
      if (ready(this)) base.render.call(this);
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  // resize and draw only while shown: a hidden view (display: none) is 0 x 0 px
  const afterLayout = base.after_layout;
  view.prototype.after_layout = function () {
    if (this._vtk_renwin != null && ready(this)) afterLayout.call(this);
    else box.after_layout.call(this);
  };
  const render = base._vtk_render;
  view.prototype._vtk_render = function () {
    if (this._vtk_renwin != null && ready(this)) render.call(this);
  };
  // vtk.js sizes its buffers from its container when the render window is made, and Panel
  // makes it before it attaches the container (0 x 0 px then; with translucent actors every
  // frame logs GL warnings until the next resize): attach and size the container first
  const init = view.prototype.init_vtk_renwin;
  view.prototype.init_vtk_renwin = function () {
    const c = this._vtk_container;
    if (c != null && !c.isConnected && this.shadow_el != null) {
      if (this.model.width != null) c.style.width = `${this.model.width}px`;
      if (this.model.height != null) c.style.height = `${this.model.height}px`;
      this.shadow_el.appendChild(c);
    }
    init.call(this);
  };
  view.prototype.__atlas_fixed = true;
})();

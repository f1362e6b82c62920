// A little enhancement: a copy button on each code block. The pages work without it.
document.querySelectorAll(".snippet pre, .key-once pre").forEach(function (block) {
  if (!navigator.clipboard) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy secondary";
  button.textContent = "复制";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(block.innerText).then(function () {
      button.textContent = "已复制";
      setTimeout(function () { button.textContent = "复制"; }, 1500);
    });
  });
  block.parentNode.insertBefore(button, block);
});

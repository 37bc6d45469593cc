"""The HTML report's stylesheet and inline script (kept apart from the page's structure).

* ``CSS``: tables scroll inside their box (numbers never wrap, prose cells do), the question
  quote, the Answer box, the smoke-test banner, status marks, and a print stylesheet (each
  section on a new page, tables unclipped, the copy tools hidden).
* ``SCRIPT``: marks every ``<img>`` ``data-loaded="1"`` once decoded and records on
  ``<body>`` how many loaded and how far the page overflows sideways (checked by the headless
  Chromium tests); reveals each table's "copy as Markdown/LaTeX" buttons (hidden without
  scripts) and copies the text held in the tools' ``data-md``/``data-tex`` attributes —
  through the Clipboard API, else a temporary text area — saying "copied" or that the
  browser refused.
"""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.5}
h1{border-bottom:2px solid #ccc}h2{margin-top:2.2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.2em .6em;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-style:italic;color:#555}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
.meta{background:#f5f8ff;border-left:4px solid #6b8cff;padding:.4em .8em;font-size:.92em}
.failed{background:#fff0f0;border-left-color:#e33}nav li{margin:.15em 0}
.skipped{background:#fffbe8;border-left-color:#d9a400}
.mark{font-size:.85em;padding:0 .35em;border-radius:3px;background:#e8f5e9}
.mark.failed{background:#ffdede}.mark.skipped{background:#fff3c4}
.problems ul{margin:.2em 0}
.tablebox{overflow-x:auto;max-width:100%}td{white-space:nowrap}td:first-child{white-space:normal;
min-width:12em}caption{caption-side:bottom;text-align:left;font-style:italic;color:#555;
white-space:normal}
td.text{white-space:normal;min-width:16em;text-align:left}
.smoke{background:#fff7e6;border-left:4px solid #e69f00;padding:.4em .8em;font-size:.92em}
blockquote.coursework{margin:.8em 0;padding:.3em 1em;border-left:4px solid #999;background:#fafafa}
blockquote.coursework footer{color:#555;font-size:.9em}
.answer{border-top:2px solid #009e73;margin-top:1.5em}.answer h3{color:#00704f}
.tabletools{font-size:.85em;margin:-.3em 0 1em}.tabletools a,.tabletools button{margin-right:.6em}
.tabletools button{font:inherit;padding:.1em .5em;cursor:pointer}.tabletools .copied{color:#555}
@media print{body{max-width:none;margin:0}nav{page-break-after:always}.tabletools{display:none}
section{page-break-before:always}.tablebox{overflow:visible}td{white-space:normal}
a{color:inherit;text-decoration:none}}
"""
SCRIPT = """
function markImages(){var imgs=document.querySelectorAll('img');var n=0;
for(var i=0;i<imgs.length;i++){var ok=imgs[i].complete&&imgs[i].naturalWidth>0;
imgs[i].setAttribute('data-loaded',ok?'1':'0');if(ok){n++;}}
document.body.setAttribute('data-images-loaded',n+'/'+imgs.length);
var d=document.documentElement;document.body.setAttribute('data-overflow',
Math.max(0,d.scrollWidth-d.clientWidth));}
function copyText(t){if(navigator.clipboard&&window.isSecureContext){
return navigator.clipboard.writeText(t);}var a=document.createElement('textarea');a.value=t;
a.setAttribute('readonly','');a.style.position='fixed';a.style.opacity='0';
document.body.appendChild(a);a.select();var ok=false;try{ok=document.execCommand('copy');}
catch(e){}document.body.removeChild(a);
return ok?Promise.resolve():Promise.reject(new Error('refused'));}
function setupCopy(){var bs=document.querySelectorAll('.tabletools button.copy');
for(var i=0;i<bs.length;i++){bs[i].hidden=false;bs[i].addEventListener('click',function(ev){
var b=ev.currentTarget,box=b.parentNode,note=box.querySelector('.copied');
var t=box.getAttribute(b.getAttribute('data-format')==='tex'?'data-tex':'data-md');
copyText(t).then(function(){note.textContent='copied';},
function(){note.textContent='the browser refused: select the table and copy it';});});}
document.body.setAttribute('data-copy-buttons',String(bs.length));}
window.addEventListener('load',markImages);
window.addEventListener('DOMContentLoaded',setupCopy);
"""

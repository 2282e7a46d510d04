// GET / on the admin listener: one self-contained HTML page (no external assets) that reads
// /stats every few seconds and draws the hit ratio over the last hour (inline SVG), top hosts and
// keys, origin health and memory/disk fill. Without a token it answers 401 with a sign-in form
// that stores the token in a same-site cookie; a `#token=…` fragment (never sent to the server)
// does the same, for scripts and headless browsers.
import NIOHTTP1

enum StatusPage {
    static var page: AdminResponse {
        AdminResponse(status: .ok, contentType: "text/html; charset=utf-8", body: Array(html.utf8), headers: securityHeaders)
    }

    static var signIn: AdminResponse {
        AdminResponse(status: .unauthorized, contentType: "text/html; charset=utf-8", body: Array(signInHTML.utf8), headers: securityHeaders)
    }

    static var securityHeaders: HTTPHeaders {
        [
            "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            "x-frame-options": "DENY", "referrer-policy": "no-referrer",
        ]
    }

    static let signInHTML = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outpost admin: sign in</title>
        <style>body{font:15px system-ui,sans-serif;margin:3em auto;max-width:28em}input{font:inherit;width:100%;margin:.5em 0}</style></head>
        <body><h1>Outpost admin</h1><p>This page needs the node's admin token (see the node's start-up log for where it is kept).</p>
        <form id="sign-in"><input id="token" type="password" autocomplete="off" placeholder="admin token" autofocus>
        <button>Sign in</button></form>
        <script>
        function keep(token){document.cookie="outpost_admin_token="+encodeURIComponent(token)+"; path=/; SameSite=Strict";location.replace(location.pathname);}
        var m=location.hash.match(/token=([^&]+)/); if(m){keep(decodeURIComponent(m[1]));}
        document.getElementById("sign-in").onsubmit=function(e){e.preventDefault();keep(document.getElementById("token").value);};
        </script></body></html>
        """

    static let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outpost</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.4em}
        table{border-collapse:collapse}td,th{padding:.2em .8em .2em 0;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .bar{background:#ddd;width:16em;height:.8em;display:inline-block}.bar span{background:#2a7;height:100%;display:block}
        .down{color:#b00}.up{color:#070}#error{color:#b00}svg{background:#f6f6f6}
        </style></head><body>
        <h1>Outpost <span id="uptime"></span></h1><p id="error"></p>
        <section><h2>Hit ratio, last hour</h2>
        <p>Request hit ratio: <b id="ratio-1m">–</b> (1 min) · <b id="ratio-5m">–</b> (5 min) · <b id="ratio-1h">–</b> (1 h) ·
        overall <b id="ratio-all">–</b> · byte hit ratio <b id="byte-ratio">–</b> · <b id="rps">–</b> requests/s</p>
        <svg id="chart" width="620" height="140" role="img" aria-label="hit ratio per minute"></svg></section>
        <section><h2>Storage</h2><table id="storage"></table></section>
        <section><h2>Origins</h2><table id="origins"></table></section>
        <section><h2>Top hosts</h2><table id="hosts"></table></section>
        <section><h2>Top keys</h2><table id="keys"></table></section>
        <script>
        function pct(x){return x==null?"–":(x*100).toFixed(1)+"%";}
        function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c];});}
        function rows(id,head,list){document.getElementById(id).innerHTML="<tr>"+head.map(function(h){return "<th>"+h+"</th>";}).join("")+"</tr>"+list.join("");}
        function bytes(n){var u=["B","KiB","MiB","GiB","TiB"],i=0;while(n>=1024&&i<4){n/=1024;i++;}return n.toFixed(i?1:0)+" "+u[i];}
        function chart(points){
          var svg=document.getElementById("chart"),w=620,h=140,p=20,out="";
          out+='<line x1="'+p+'" y1="'+(h-p)+'" x2="'+(w-5)+'" y2="'+(h-p)+'" stroke="#999"/>';
          out+='<text x="2" y="'+(p)+'" font-size="10">100%</text><text x="2" y="'+(h-p)+'" font-size="10">0%</text>';
          var xs=function(i){return p+(w-p-5)*(i+0.5)/60;}, ys=function(r){return (h-p)-(h-2*p)*r;};
          var d="";
          points.forEach(function(pt,i){var r=pt.ratios.requestHitRatio;if(r==null)return;var x=xs(60-points.length+i);
            d+=(d?" L":"M")+x.toFixed(1)+" "+ys(r).toFixed(1);
            out+='<circle class="point" cx="'+x.toFixed(1)+'" cy="'+ys(r).toFixed(1)+'" r="2" fill="#2a7"><title>'+pct(r)+'</title></circle>';});
          if(d)out+='<path d="'+d+'" fill="none" stroke="#2a7" stroke-width="2"/>';
          svg.innerHTML=out;
        }
        function show(s){
          document.getElementById("error").textContent="";
          document.getElementById("uptime").textContent="up "+Math.round(s.uptimeSeconds)+" s";
          var w={};s.windows.forEach(function(x){w[x.name]=x;});
          ["1m","5m","1h"].forEach(function(n){document.getElementById("ratio-"+n).textContent=w[n]?pct(w[n].ratios.requestHitRatio):"–";});
          document.getElementById("ratio-all").textContent=pct(s.ratios.requestHitRatio);
          document.getElementById("byte-ratio").textContent=pct(s.ratios.byteHitRatio);
          document.getElementById("rps").textContent=w["1m"]?w["1m"].requestsPerSecond.toFixed(1):"–";
          chart(s.history);
          var tiers=[["memory",s.memory]];if(s.disk)tiers.push(["disk",s.disk]);
          rows("storage",["tier","objects","bytes","fill"],tiers.map(function(t){var f=t[1].capacityBytes?t[1].bytes/t[1].capacityBytes:0;
            return "<tr><td>"+t[0]+"</td><td class=n>"+t[1].objects+"</td><td class=n>"+bytes(t[1].bytes)+" of "+bytes(t[1].capacityBytes)+
            '</td><td><span class="bar"><span style="width:'+Math.min(100,f*100).toFixed(1)+'%"></span></span></td></tr>';}));
          rows("origins",["origin","state","failures in a row"],s.origins.map(function(o){return "<tr><td>"+esc(o.origin)+'</td><td class="'+(o.healthy?"up":"down")+'">'+(o.healthy?"up":"down")+"</td><td class=n>"+o.consecutiveFailures+"</td></tr>";}));
          rows("hosts",["host","requests","hit ratio","byte hit ratio"],s.hosts.map(function(x){return "<tr><td>"+esc(x.host)+"</td><td class=n>"+x.requests+"</td><td class=n>"+pct(x.ratios.requestHitRatio)+"</td><td class=n>"+pct(x.ratios.byteHitRatio)+"</td></tr>";}));
          rows("keys",["url","hits","bytes"],s.topKeys.map(function(k){return "<tr><td>"+esc(k.url)+(k.variantKey?" ["+esc(k.variantKey)+"]":"")+"</td><td class=n>"+k.hits+"</td><td class=n>"+bytes(k.bytes)+"</td></tr>";}));
        }
        function load(){fetch("/stats",{credentials:"same-origin"}).then(function(r){if(!r.ok)throw new Error("GET /stats: "+r.status);return r.json();})
          .then(show).catch(function(e){document.getElementById("error").textContent=e.message;});}
        load();setInterval(load,5000);
        </script></body></html>
        """
}

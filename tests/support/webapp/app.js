// One page, three views, each reading the deployment through ConvexHttpClient (window.convex).
const client = new convex.ConvexHttpClient(window.CONVEX_URL);
const main = document.getElementById("main");
const el = (tag, attrs = {}, text = "") => Object.assign(document.createElement(tag), attrs, { textContent: text });
const fail = (err) => { document.getElementById("error").textContent = `Could not load: ${err.message}`; };

function login() {
  const form = el("form");
  form.append(el("h1", {}, "Log in"), el("input", { id: "email", type: "email", placeholder: "email" }),
              el("input", { id: "password", type: "password", placeholder: "password" }),
              el("button", { type: "submit" }, "Log in"), el("p", { id: "status" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = document.getElementById("email").value;
    const password = document.getElementById("password").value;
    const user = await client.query("users:signIn", { email, password }).catch(fail);
    document.getElementById("status").textContent = user ? `Welcome, ${user.name}` : `No member with email ${email}`;
  });
  main.append(form);
}

async function feed() {
  main.append(el("h1", {}, "Feed"));
  // no numeric args: the test server refuses integer-valued JSON numbers (see the drill web tests)
  const posts = await client.query("posts:feed", {});
  for (const post of posts) {
    const item = el("article", { className: "post" });
    item.append(el("h2", {}, post.title), el("p", {}, post.body));
    main.append(item);
  }
}

async function course(slug) {
  const found = await client.query("courses:get", { slug });
  main.append(el("h1", {}, found ? found.title : "Course not found"));
}

const path = location.pathname;
const slug = path.match(/^\/courses\/([^/]+)$/);
Promise.resolve(path === "/feed" ? feed() : slug ? course(decodeURIComponent(slug[1])) : login()).catch(fail);

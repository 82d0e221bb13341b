// The baseline server of `cargo xtask bench`: the original lesson's API,
// kept in memory, on express. Same routes and answers as the Rust server's
// contract (an article or an array of them; ids make a POST idempotent;
// 201 with the full list when something new was stored, else 200), so that
// the benchmark compares runtimes and durability, not different work.
//
//   node server.js <port>
'use strict';
const express = require('express');

const app = express();
app.use(express.json({ limit: '64kb' }));

const articles = [];
const ids = new Set();

app.get('/api/v1/articles', (req, res) => {
  res.json(articles);
});

app.post('/api/v1/articles', (req, res) => {
  const incoming = Array.isArray(req.body) ? req.body : [req.body];
  for (const article of incoming) {
    for (const field of ['id', 'headline', 'byline']) {
      if (typeof (article || {})[field] !== 'string' || article[field].trim() === '') {
        return res.status(400).json({ error: `${field}: required` });
      }
    }
  }
  let added = false;
  for (const { id, headline, byline } of incoming) {
    if (!ids.has(id)) {
      ids.add(id);
      articles.push({ id, headline, byline, created_at: new Date().toISOString() });
      added = true;
    }
  }
  res.status(added ? 201 : 200).json(articles);
});

const port = Number(process.argv[2] || 3100);
app.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
